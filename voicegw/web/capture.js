// Microphone capture for the kiosk: a whole clip for push-to-talk, a live stream for hands-free.

// What this browser records, best first: Chrome and Firefox give WebM or Ogg Opus, Safari MP4/AAC.
const CLIP_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
// The streaming route decodes these containers as they come; anything else streams as PCM16.
const STREAM_TYPES = { "audio/webm;codecs=opus": "webm", "audio/ogg;codecs=opus": "ogg" };
const STREAM_SLICE_MS = 250;
const PCM_RATE = 16000;

export class MicrophoneRefused extends Error {}

async function openMicrophone() {
  try {
    // The browser's own noise suppression and gain control are off: Whisper hears enhanced audio
    // worse than the raw microphone (docs/tuning.md, round 3), and the kiosk speaks no replies aloud.
    return await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    throw new MicrophoneRefused(err && err.name);
  }
}

function stopTracks(media) {
  for (const track of media.getTracks()) track.stop();
}

function clipType() {
  return CLIP_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) || "";
}

// Push-to-talk: record from start() until stop(), which resolves to the clip (a Blob).
export class ClipRecorder {
  async start() {
    this.media = await openMicrophone();
    this.chunks = [];
    const type = clipType();
    this.recorder = new MediaRecorder(this.media, type ? { mimeType: type } : undefined);
    this.recorder.ondataavailable = (event) => { if (event.data.size) this.chunks.push(event.data); };
    this.recorder.start();
  }

  stop() {
    return new Promise((resolve) => {
      if (!this.recorder || this.recorder.state === "inactive") { resolve(null); return; }
      this.recorder.onstop = () => {
        stopTracks(this.media);
        resolve(new Blob(this.chunks, { type: this.recorder.mimeType || "application/octet-stream" }));
      };
      this.recorder.stop();
    });
  }
}

// Hands-free: the microphone goes to the WebSocket as it is recorded. `connect(format, rate)`
// opens the socket (the page adds the store, session and token) and returns it.
export class LiveStream {
  constructor(connect, onMessage, onClose, preferPcm = false) {
    this.connect = connect;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.preferPcm = preferPcm;
  }

  async start() {
    this.media = await openMicrophone();
    const type = Object.keys(STREAM_TYPES).find((t) => MediaRecorder.isTypeSupported(t));
    if (type && !this.preferPcm) {
      this.socket = await this.connect(STREAM_TYPES[type], null);
      this.recorder = new MediaRecorder(this.media, { mimeType: type });
      this.recorder.ondataavailable = (event) => this.send(event.data);
      this.recorder.start(STREAM_SLICE_MS);
    } else {
      this.socket = await this.connect("pcm16", PCM_RATE);
      await this.startPcm();
    }
    this.socket.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    this.socket.onclose = (event) => { this.release(); this.onClose(event); };
  }

  // 16 kHz PCM16 through an AudioWorklet, for browsers whose recorder makes neither WebM nor Ogg.
  async startPcm() {
    this.audio = new AudioContext({ sampleRate: PCM_RATE });
    await this.audio.audioWorklet.addModule("/kiosk/pcm-worklet.js");
    const source = this.audio.createMediaStreamSource(this.media);
    this.worklet = new AudioWorkletNode(this.audio, "pcm16");
    this.worklet.port.onmessage = (event) => this.send(event.data);
    source.connect(this.worklet);
  }

  send(data) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && (data.size ?? data.byteLength)) {
      this.socket.send(data);
    }
  }

  stop() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "close" }));
    }
    this.release();
  }

  release() {
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    if (this.audio) this.audio.close();
    if (this.media) stopTracks(this.media);
    this.recorder = this.audio = this.media = null;
  }
}
