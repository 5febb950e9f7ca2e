// The kiosk: the store's menu board, push-to-talk and hands-free ordering, the cart, the bot's replies.
// Every call goes to the gateway that served the page, with the kiosk's key (see kiosk_routes.py).
import { ClipRecorder, LiveStream, MicrophoneRefused } from "/kiosk/capture.js";

const TAP_MS = 200;
const TEXT = {
  ko: {
    menu: "메뉴", cart: "장바구니", talk: "누르고 말하기", stopTalk: "다 말했어요", handsFree: "핸즈프리",
    confirm: "주문하기", cancel: "취소", other: "English", total: "합계", empty: "장바구니가 비어 있어요",
    idle: "버튼을 누른 채로 말씀하세요", tapped: "듣고 있어요. 다 말하면 버튼을 한 번 더 누르세요",
    listening: "듣고 있어요…", thinking: "주문을 확인하고 있어요…", noSpeech: "잘 안 들렸어요. 다시 말씀해 주세요.",
    micRefused: "마이크를 쓸 수 없어요. 브라우저에서 마이크를 허용해 주세요.",
    busy: "지금 주문이 많아요. 잠시 후 다시 말씀해 주세요.", handsFreeIdle: "핸즈프리: 말씀하시면 들어요",
    failed: "문제가 생겼어요. 다시 시도해 주세요.", noKey: "이 키오스크에 API 키가 없어요 (주소 끝에 #key=…).",
    unknownStore: "이 매장을 찾을 수 없어요.", ordered: "주문 완료! 주문번호", soldOut: "품절",
    confirmText: "주문 완료", cancelText: "주문 취소",
  },
  en: {
    menu: "Menu", cart: "Your order", talk: "Hold to talk", stopTalk: "Done talking", handsFree: "Hands-free",
    confirm: "Place order", cancel: "Cancel", other: "한국어", total: "Total", empty: "Your order is empty",
    idle: "Hold the button and speak", tapped: "Listening. Tap the button again when you're done",
    listening: "Listening…", thinking: "Working on your order…", noSpeech: "I didn't catch that. Please say it again.",
    micRefused: "The microphone is blocked. Please allow it in the browser.",
    busy: "We're busy right now. Please try again in a moment.", handsFreeIdle: "Hands-free: just speak",
    failed: "Something went wrong. Please try again.", noKey: "This kiosk has no API key (add #key=… to its address).",
    unknownStore: "This store was not found.", ordered: "Order placed! Number", soldOut: "sold out",
    confirmText: "place my order", cancelText: "cancel my order",
  },
};

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const store = params.get("store");
const state = { lang: params.get("lang"), menu: null, session: newSession(), key: takeKey(), cart: null,
  recorder: null, pressedAt: 0, tapMode: false, live: null, mode: "idle" };

function newSession() {
  return "s-kiosk-" + crypto.getRandomValues(new Uint32Array(2)).join("");
}

// The key arrives once in the address's fragment (never sent to a server) and stays in this browser.
function takeKey() {
  const slot = "voicegw-key:" + location.origin;
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("key")) {
    localStorage.setItem(slot, fragment.get("key"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem(slot);
}

const t = (name) => TEXT[state.lang][name];

function authHeaders() {
  return state.key ? { Authorization: "Bearer " + state.key } : {};
}

async function call(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const code = body && body.error ? body.error.code : "http_" + response.status;
    throw Object.assign(new Error(code), { code, status: response.status });
  }
  return body;
}

const query = () => `store=${encodeURIComponent(store)}&session=${encodeURIComponent(state.session)}&lang=${state.lang}`;

// --- what the page shows --------------------------------------------------------------------

function setStatus(name, kind = "idle") {
  $("status").textContent = t(name);
  $("status").dataset.state = kind;
  state.statusName = name;
}

function money(amount) {
  const format = new Intl.NumberFormat(state.lang === "ko" ? "ko-KR" : "en-US",
    { style: "currency", currency: state.menu.currency });
  return format.format(amount / 10 ** format.resolvedOptions().maximumFractionDigits);
}

function nameOf(names) {
  return names[state.lang] || names[state.menu.language] || Object.values(names)[0] || "";
}

function renderTexts() {
  document.documentElement.lang = state.lang;
  $("board-title").textContent = t("menu");
  $("cart-title").textContent = t("cart");
  $("hands-free-label").textContent = t("handsFree");
  $("confirm").textContent = t("confirm");
  $("cancel").textContent = t("cancel");
  $("language").textContent = t("other");
  // Hands-free, the button ends the utterance now (as releasing it would).
  $("talk-button").textContent = state.tapMode || state.live ? t("stopTalk") : t("talk");
  if (state.statusName) $("status").textContent = t(state.statusName);
}

function renderMenu() {
  $("title").textContent = state.menu.store;
  const board = $("menu");
  board.replaceChildren();
  const categories = [...new Set(state.menu.items.map((item) => item.category))];
  for (const category of categories) {
    const section = document.createElement("div");
    section.className = "category";
    const heading = document.createElement("h3");
    heading.textContent = category.replaceAll("_", " ");
    const items = document.createElement("div");
    items.className = "items";
    for (const item of state.menu.items.filter((i) => i.category === category)) {
      const card = document.createElement("div");
      card.className = "item" + (item.available ? "" : " sold-out");
      card.dataset.item = item.id;
      const name = document.createElement("div");
      name.className = "name";
      name.textContent = nameOf(item.name);
      const price = document.createElement("div");
      price.className = "price";
      price.textContent = item.available ? money(item.price) : t("soldOut");
      card.append(name, price);
      items.append(card);
    }
    section.append(heading, items);
    board.append(section);
  }
}

function optionText(option) {
  const group = state.menu.option_groups.find((g) => g.id === option.group);
  const value = group && group.values.find((v) => v.id === option.value);
  const name = value ? nameOf(value.name) : option.value;
  return option.amount && option.amount !== "regular" ? `${name} (${option.amount})` : name;
}

function renderCart() {
  const list = $("cart");
  list.replaceChildren();
  const lines = state.cart ? state.cart.lines : [];
  for (const line of lines) {
    const row = document.createElement("li");
    row.dataset.item = line.item_id;
    const what = document.createElement("div");
    what.className = "line";
    what.textContent = `${line.name} × ${line.quantity} — ${money(line.unit_price * line.quantity)}`;
    const options = document.createElement("div");
    options.className = "options";
    options.textContent = line.options.map(optionText).join(", ");
    row.append(what, options);
    list.append(row);
  }
  $("total").textContent = lines.length ? `${t("total")} ${money(state.cart.total)}` : t("empty");
  $("confirm").disabled = $("cancel").disabled = !lines.length;
}

function say(text, who) {
  if (!text) return;
  const bubble = document.createElement("div");
  bubble.className = who;
  bubble.textContent = text;
  $("conversation").append(bubble);
  bubble.scrollIntoView({ block: "end" });
}

function renderQuickReplies(labels) {
  const box = $("quick-replies");
  box.replaceChildren();
  for (const label of labels) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = label;
    button.addEventListener("click", () => sendText(label));
    box.append(button);
  }
}

// A turn result (docs/api.md): what was heard, the bot's reply, the cart.
function showTurn(result) {
  $("partial").textContent = "";
  if (result.status === "no_speech") {
    setStatus("noSpeech", "error");
    return;
  }
  say(result.transcript, "said");
  say(result.reply.text, "bot");
  renderQuickReplies(result.reply.quick_replies || []);
  if (result.cart) state.cart = result.cart;
  if (result.order_id) {
    $("order-done").textContent = `${t("ordered")} ${result.order_id}`;
    state.cart = null;
    state.session = newSession();
  }
  renderCart();
  setStatus(state.live ? "handsFreeIdle" : "idle");
}

function showFailure(err) {
  if (err instanceof MicrophoneRefused) setStatus("micRefused", "error");
  else if (err.code === "saturated" || err.status === 503) setStatus("busy", "error");
  else if (err.status === 401) setStatus("noKey", "error");
  else if (err.code === "unknown_store") setStatus("unknownStore", "error");
  else setStatus("failed", "error");
}

// --- turns ------------------------------------------------------------------------------------

async function sendText(text) {
  setStatus("thinking", "thinking");
  try {
    showTurn(await call("/v1/text/orders", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ store, session: state.session, text, lang: state.lang }),
    }));
  } catch (err) {
    showFailure(err);
  }
}

async function sendClip(clip) {
  setStatus("thinking", "thinking");
  try {
    showTurn(await call(`/v1/voice/orders?${query()}`, {
      method: "POST", headers: { "Content-Type": clip.type || "application/octet-stream" }, body: clip,
    }));
  } catch (err) {
    showFailure(err);
  }
}

// --- push-to-talk: hold to talk; a press under TAP_MS is a tap (talk, then tap again to send) ----

async function startTalking() {
  if (state.recorder) return;
  state.recorder = new ClipRecorder();
  $("talk-button").dataset.recording = "true";
  setStatus(state.tapMode ? "tapped" : "listening", "listening");
  try {
    await state.recorder.start();
  } catch (err) {
    state.recorder = null;
    $("talk-button").dataset.recording = "false";
    showFailure(err);
  }
}

async function stopTalking() {
  const recorder = state.recorder;
  if (!recorder) return;
  state.recorder = null;
  state.tapMode = false;
  $("talk-button").dataset.recording = "false";
  renderTexts();
  const clip = await recorder.stop();
  if (clip && clip.size) await sendClip(clip);
  else setStatus("noSpeech", "error");
}

function wirePushToTalk() {
  const button = $("talk-button");
  button.addEventListener("pointerdown", (event) => {
    if (state.live) { state.live.socket.send(JSON.stringify({ type: "stop" })); return; }
    if (state.tapMode) return;  // the second tap ends it, on pointerup
    button.setPointerCapture(event.pointerId);
    state.pressedAt = performance.now();
    startTalking();
  });
  button.addEventListener("pointerup", () => {
    if (state.live || !state.recorder) return;
    if (state.tapMode) { stopTalking(); return; }
    if (performance.now() - state.pressedAt < TAP_MS) {
      state.tapMode = true;
      renderTexts();
      setStatus("tapped", "listening");
      return;
    }
    stopTalking();
  });
  button.addEventListener("pointercancel", () => { if (!state.live) stopTalking(); });
  button.addEventListener("keydown", (event) => {
    if ((event.key === " " || event.key === "Enter") && !event.repeat && !state.live) {
      event.preventDefault();
      if (state.tapMode) stopTalking(); else startTalking();
    }
  });
  button.addEventListener("keyup", (event) => {
    if ((event.key === " " || event.key === "Enter") && !state.live && !state.tapMode) {
      event.preventDefault();
      stopTalking();
    }
  });
}

// --- hands-free: the streaming route hears when the customer starts and stops ---------------

async function connect(format, rate) {
  let address = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/voice/stream?${query()}&format=${format}`;
  if (rate) address += `&rate=${rate}`;
  if (state.key) {
    const { token } = await call(`/v1/voice/stream/token?store=${encodeURIComponent(store)}`, { method: "POST" });
    address += `&token=${encodeURIComponent(token)}`;
  }
  const socket = new WebSocket(address);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(Object.assign(new Error("stream"), { code: "stream_failed" }));
  });
  return socket;
}

function onStreamMessage(message) {
  switch (message.type) {
    case "ready": setStatus("handsFreeIdle"); break;
    case "speech_started": setStatus("listening", "listening"); break;
    case "partial": $("partial").textContent = message.text; break;
    case "speech_stopped": setStatus("thinking", "thinking"); break;
    case "turn": showTurn(message.result); break;
    case "no_speech": setStatus("noSpeech", "error"); break;
    case "error": showFailure(message); break;
  }
}

async function setHandsFree(on) {
  if (on && !state.live) {
    const live = new LiveStream(connect, onStreamMessage, (event) => {
      if (state.live !== live) return;  // turned off here
      state.live = null;
      // A stream reaches its length cap (close 1008) on a kiosk left hands-free: open the next one.
      if (event.code === 1008) { setHandsFree(true); return; }
      $("hands-free").checked = false;
      renderTexts();
    }, params.get("capture") === "pcm");
    state.live = live;
    renderTexts();
    try {
      await live.start();
    } catch (err) {
      state.live = null;
      $("hands-free").checked = false;
      live.release();
      renderTexts();
      showFailure(err);
    }
  } else if (!on && state.live) {
    const live = state.live;
    state.live = null;
    live.stop();
    renderTexts();
    setStatus("idle");
  }
}

// --- start ------------------------------------------------------------------------------------

async function start() {
  wirePushToTalk();
  $("hands-free").addEventListener("change", (event) => setHandsFree(event.target.checked));
  $("confirm").addEventListener("click", () => sendText(t("confirmText")));
  $("cancel").addEventListener("click", () => sendText(t("cancelText")));
  $("language").addEventListener("click", () => {
    state.lang = state.lang === "ko" ? "en" : "ko";
    renderTexts();
    renderMenu();
    renderCart();
  });
  try {
    state.menu = await call(`/v1/menu?store=${encodeURIComponent(store)}`);
  } catch (err) {
    state.lang = state.lang in TEXT ? state.lang : "ko";
    renderTexts();
    showFailure(err);
    return;
  }
  state.lang = state.lang in TEXT ? state.lang : state.menu.language;
  renderTexts();
  renderMenu();
  renderCart();
  setStatus("idle");
  document.body.dataset.ready = "true";
}

start();
