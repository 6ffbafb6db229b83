/*
 * The chat simulator page: pick an identity, send text, voice (its recognition
 * text) and pictures through /simulator/api/, show the reply, and poll
 * /simulator/api/pushes for late replies and reminders. Like a phone it keeps each
 * identity's chat in this browser (localStorage), greets a new identity once with
 * the subscribe event, and always shows the newest message.
 *
 * Every piece of user or bot text goes into the page with textContent, never as
 * markup: a message like "<img onerror=…>" must show as typed, not run.
 */
"use strict";

(function () {
  const API = "simulator/api/";
  const GUEST_KEY = "wecrm.simulator.guest";
  const IDENTITY_KEY = "wecrm.simulator.identity";
  // Per identity: its bubbles and push cursor, and whether it has been welcomed.
  const HISTORY_KEY = "wecrm.simulator.history.";
  const WELCOMED_KEY = "wecrm.simulator.welcomed.";
  const GUEST_LABEL = "新访客";
  // A phone keeps more, but localStorage has about 5 MB for the whole page.
  const MAX_BUBBLES = 200;
  // Pictures are kept as small previews; a larger one is kept as "[图片]" only.
  const PREVIEW_PX = 320;
  const MAX_STORED_IMAGE = 200000;
  // Same rules as the server (bot/channels/simulator.py).
  const IMAGE_TYPES = ["image/png", "image/jpeg"];
  const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

  // ?poll=<ms> lets tests (and impatient demos) poll faster than every 2 s.
  const POLL_MS = (function () {
    const asked = Number(new URLSearchParams(location.search).get("poll"));
    return Number.isFinite(asked) && asked > 0 ? Math.min(Math.max(asked, 200), 60000) : 2000;
  })();

  const select = document.getElementById("identity");
  const newGuestButton = document.getElementById("new-guest");
  const clearButton = document.getElementById("clear-history");
  const thread = document.getElementById("thread");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const voiceButton = document.getElementById("voice");
  const fileInput = document.getElementById("image-file");
  const status = document.getElementById("status");
  const TEXT_PLACEHOLDER = input.placeholder;
  const VOICE_PLACEHOLDER = "输入你“说”的话（语音识别文字），例如：我想了解报价";

  // Per identity: its conversation element and the highest push id shown in it.
  const conversations = new Map();
  const pushCursor = new Map();
  // What each finished bubble is, to store and rebuild it; pending bubbles have none.
  const entries = new WeakMap();
  const welcoming = new Set();
  let knownIdentities = "";

  // --- storage: localStorage may be off (private mode); the page still works ---

  function load(key) {
    try {
      return localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, value);
      return true;
    } catch (e) {
      /* nothing to keep it in (or full): it lasts until reload */
      return false;
    }
  }

  function forget(key) {
    try {
      localStorage.removeItem(key);
    } catch (e) {
      /* nothing stored either */
    }
  }

  function loadHistory(identity) {
    try {
      const data = JSON.parse(load(HISTORY_KEY + identity) || "null");
      if (data && Array.isArray(data.items)) {
        const after = Number.isSafeInteger(data.after) && data.after > 0 ? data.after : 0;
        return { after, items: data.items.slice(-MAX_BUBBLES) };
      }
    } catch (e) {
      /* unreadable: start afresh */
    }
    return { after: 0, items: [] };
  }

  // The conversation as shown, oldest first; when the browser's quota is full the
  // oldest half goes until the rest fits.
  function persist(identity) {
    const conv = conversations.get(identity);
    if (!conv) return;
    let items = [];
    for (const el of conv.children) if (entries.has(el)) items.push(storable(entries.get(el)));
    items = items.slice(-MAX_BUBBLES);
    const after = pushCursor.get(identity) || 0;
    while (!save(HISTORY_KEY + identity, JSON.stringify({ after, items })) && items.length) {
      items = items.slice(Math.ceil(items.length / 2));
    }
  }

  function storable(entry) {
    if (entry.img && entry.img.length > MAX_STORED_IMAGE) {
      return Object.assign({}, entry, { img: "" });
    }
    if (entry.reply && typeof entry.reply.image_url === "string"
        && entry.reply.image_url.length > MAX_STORED_IMAGE) {
      return Object.assign({}, entry, { reply: Object.assign({}, entry.reply, { image_url: "" }) });
    }
    return entry;
  }

  // crypto.getRandomValues, unlike randomUUID, also works on plain http from a LAN address.
  function randomHex(bytes) {
    const buf = new Uint8Array(bytes);
    crypto.getRandomValues(buf);
    return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function guestId() {
    let id = load(GUEST_KEY);
    // Same rule as the server: [A-Za-z0-9_.:-], at most 64 characters.
    if (!id || !/^[A-Za-z0-9_.:-]{1,64}$/.test(id)) {
      id = "sim-guest-" + randomHex(6);
      save(GUEST_KEY, id);
    }
    return id;
  }

  // --- the thread -----------------------------------------------------------------

  // The identity's conversation, rebuilt from this browser's history the first time.
  function conversation(identity) {
    let conv = conversations.get(identity);
    if (!conv) {
      conv = document.createElement("div");
      conv.className = "conversation";
      conv.dataset.identity = identity;
      conv.hidden = true;
      thread.appendChild(conv);
      conversations.set(identity, conv);
      const saved = loadHistory(identity);
      pushCursor.set(identity, Math.max(saved.after, pushCursor.get(identity) || 0));
      for (const entry of saved.items) {
        if (entry && typeof entry === "object") render(conv, entry);
      }
    }
    return conv;
  }

  function show(identity) {
    for (const [id, conv] of conversations) conv.hidden = id !== identity;
    conversation(identity).hidden = false;
    scrollDown();
  }

  // The newest message is always in sight, as on a phone.
  function scrollDown() {
    thread.scrollTop = thread.scrollHeight;
  }

  function bubble(conv, classes, text) {
    const el = document.createElement("div");
    el.className = "bubble " + classes;
    if (text !== undefined) el.textContent = text;
    conv.appendChild(el);
    scrollDown();
    return el;
  }

  // Remember what a bubble shows, keep the thread bounded and store it.
  function settle(identity, el, entry) {
    entries.set(el, entry);
    const conv = conversations.get(identity);
    if (conv) {
      let kept = 0;
      for (const child of Array.from(conv.children).reverse()) {
        if (entries.has(child) && ++kept > MAX_BUBBLES) child.remove();
      }
    }
    scrollDown();
    persist(identity);
  }

  // One stored entry back into a bubble (restoring history).
  function render(conv, entry) {
    let el;
    if (entry.who === "user") {
      el = bubble(conv, "user");
      fillUser(el, entry);
    } else if (entry.who === "bot") {
      el = bubble(conv, entry.push ? "bot push" : "bot");
      if (!fillReply(el, entry.reply)) {
        el.remove();
        return;
      }
      if (entry.push) markPush(el);
    } else if (entry.who === "error") {
      el = bubble(conv, "error");
      fillError(el, String(entry.text || ""));
    } else {
      return;
    }
    entries.set(el, entry);
  }

  function fillUser(el, entry) {
    const text = typeof entry.text === "string" ? entry.text : "";
    if (entry.kind === "image") {
      el.classList.add("image");
      if (typeof entry.img === "string" && entry.img.startsWith("data:image/")) {
        el.appendChild(picture(entry.img, "sent-image", "我发送的图片"));
      } else {
        el.appendChild(document.createTextNode("[图片]"));
      }
      return;
    }
    if (entry.kind === "voice") {
      el.classList.add("voice");
      const mark = document.createElement("span");
      mark.className = "voice-mark";
      mark.textContent = "语音";
      el.appendChild(mark);
    }
    el.appendChild(document.createTextNode(text));
  }

  function picture(src, className, alt) {
    const img = document.createElement("img");
    img.className = className;
    img.alt = alt;
    // A picture has no height until it loads: scroll again once it has one.
    img.addEventListener("load", scrollDown);
    img.src = src;
    return img;
  }

  function markPush(el) {
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = "推送";
    el.prepend(tag);
  }

  function fillError(el, message) {
    el.className = "bubble error";
    el.setAttribute("role", "alert");
    el.textContent = message;
  }

  // Render a Reply dict (bot/incoming.py) into a bot bubble; false if there is nothing to show.
  function fillReply(el, reply) {
    el.classList.remove("pending");
    el.textContent = "";
    if (!reply || reply.kind === "none") return false;
    if (reply.kind === "news" && Array.isArray(reply.articles) && reply.articles.length) {
      for (const article of reply.articles) {
        const box = document.createElement("div");
        box.className = "article";
        const title = document.createElement(isWebUrl(article.url) ? "a" : "div");
        title.className = "title";
        title.textContent = article.title || "";
        if (title.tagName === "A") {
          title.href = article.url;
          title.target = "_blank";
          title.rel = "noopener noreferrer";
        }
        box.appendChild(title);
        if (article.description) {
          const desc = document.createElement("div");
          desc.className = "description";
          desc.textContent = article.description;
          box.appendChild(desc);
        }
        el.appendChild(box);
      }
      return true;
    }
    if (reply.kind === "image") {
      // Pushed images (the digest chart) arrive as data: URLs; the CSP allows no other.
      if (typeof reply.image_url === "string" && reply.image_url.startsWith("data:image/")) {
        el.appendChild(picture(reply.image_url, "pushed-image", reply.text || "图片"));
        if (reply.text) {
          const caption = document.createElement("div");
          caption.className = "caption";
          caption.textContent = reply.text;
          el.appendChild(caption);
        }
        return true;
      }
      el.appendChild(document.createTextNode("[图片] " + (reply.media_id || "")));
      return true;
    }
    if (!reply.text) return false;
    el.appendChild(document.createTextNode(reply.text));
    return true;
  }

  // Only http(s) links become clickable: a "javascript:" URL in an article is just text.
  function isWebUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url);
  }

  // --- identities -----------------------------------------------------------------

  function currentIdentity() {
    return select.value;
  }

  async function refreshIdentities() {
    let list;
    try {
      const res = await fetch(API + "identities", { cache: "no-store" });
      if (!res.ok) throw new Error(String(res.status));
      list = await res.json();
    } catch (e) {
      status.textContent = "无法加载身份列表，请检查服务是否在运行。";
      // The visitor needs no list: keep the page usable, and rebuild next time.
      if (select.options.length) return;
      list = null;
    }
    const guest = guestId();
    const fingerprint = list === null ? "" : JSON.stringify([guest, list]);
    if (fingerprint && fingerprint === knownIdentities) return;
    knownIdentities = fingerprint;
    const keep = select.options.length ? currentIdentity() : load(IDENTITY_KEY);
    select.textContent = "";
    const guestOption = select.appendChild(option(guest, GUEST_LABEL, "guest"));
    for (const item of list || []) {
      // A visitor who bound with 绑定 is staff now: one entry, saying both.
      if (item.id === guest) {
        guestOption.textContent = GUEST_LABEL + " · " + item.label;
        continue;
      }
      select.appendChild(option(item.id, item.label, item.role));
    }
    const values = Array.from(select.options, (o) => o.value);
    select.value = values.includes(keep) ? keep : guest;
    choose(currentIdentity());
  }

  function option(value, label, role) {
    const el = document.createElement("option");
    el.value = value;
    el.textContent = label;
    el.dataset.role = role;
    return el;
  }

  function choose(identity) {
    save(IDENTITY_KEY, identity);
    show(identity);
    welcome(identity);
    pollOnce(identity);
  }

  // The first time this browser opens an identity it "follows" the account: the
  // subscribe event goes through the pipeline and the bot's welcome shows.
  async function welcome(identity) {
    if (!identity || load(WELCOMED_KEY + identity) || welcoming.has(identity)) return;
    welcoming.add(identity);
    const answer = bubble(conversation(identity), "bot pending", "…");
    try {
      const res = await fetch(API + "event", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ identity, event: "subscribe" }),
      });
      const data = await res.json().catch(() => null);
      if (!res.ok || !data) throw new Error(String(res.status));
      save(WELCOMED_KEY + identity, "1");
      if (fillReply(answer, data.reply)) settle(identity, answer, { who: "bot", reply: data.reply });
      else answer.remove();
    } catch (e) {
      // Not welcomed: tried again the next time the identity is opened.
      answer.remove();
    } finally {
      welcoming.delete(identity);
    }
  }

  // --- sending ----------------------------------------------------------------------

  // Show what the user sent, post it, and put the answer right after it.
  async function deliver(identity, entry, url, init) {
    const conv = conversation(identity);
    const mine = bubble(conv, "user");
    fillUser(mine, entry);
    settle(identity, mine, entry);
    // Placeholder right after the question, so replies stay in order when several are in flight.
    const answer = bubble(conv, "bot pending", "…");
    let res;
    let data = null;
    try {
      res = await fetch(API + url, init);
      data = await res.json().catch(() => null);
    } catch (e) {
      failed(identity, answer, "网络错误，消息没有送达，请稍后重试。");
      return;
    }
    if (!res.ok || !data) {
      const why = (data && data.error) || "服务器错误（" + res.status + "）";
      failed(identity, answer, "发送失败：" + why);
      return;
    }
    if (fillReply(answer, data.reply)) settle(identity, answer, { who: "bot", reply: data.reply });
    else answer.remove();
    // A 绑定 may just have turned someone into staff: let the picker catch up.
    refreshIdentities();
  }

  function failed(identity, el, message) {
    fillError(el, message);
    settle(identity, el, { who: "error", text: message });
  }

  function sendTyped() {
    const text = input.value;
    const identity = currentIdentity();
    if (!text.trim() || !identity) return;
    input.value = "";
    input.focus();
    const kind = voiceButton.getAttribute("aria-pressed") === "true" ? "voice" : "text";
    deliver(identity, { who: "user", kind, text }, "send", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ identity, kind, text, msg_id: "web-" + randomHex(12) }),
    });
  }

  async function sendPicture(file) {
    const identity = currentIdentity();
    if (!file || !identity) return;
    const conv = conversation(identity);
    if (!IMAGE_TYPES.includes(file.type)) {
      failed(identity, bubble(conv, "error"), "只能发送 PNG 或 JPEG 图片。");
      return;
    }
    if (file.size > MAX_IMAGE_BYTES) {
      failed(identity, bubble(conv, "error"), "图片太大了，最大 2 MB。");
      return;
    }
    let img = "";
    try {
      img = await preview(file);
    } catch (e) {
      /* unreadable here: the server judges the file, the bubble says [图片] */
    }
    const query = new URLSearchParams({ identity, msg_id: "web-" + randomHex(12) });
    deliver(identity, { who: "user", kind: "image", img }, "image?" + query, {
      method: "POST",
      headers: { "Content-Type": file.type },
      body: file,
    });
  }

  // A small data: URL of the picture for the bubble and the history (blob: URLs are
  // not allowed by the page's CSP, and would not survive a reload anyway).
  function preview(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onerror = () => reject(reader.error);
      reader.onload = () => {
        const full = String(reader.result);
        const img = new Image();
        img.onerror = () => reject(new Error("not an image"));
        img.onload = () => {
          const scale = Math.min(1, PREVIEW_PX / Math.max(img.naturalWidth, img.naturalHeight, 1));
          if (scale === 1 && full.length <= MAX_STORED_IMAGE) {
            resolve(full);
            return;
          }
          const canvas = document.createElement("canvas");
          canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
          canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
          canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
          resolve(canvas.toDataURL("image/jpeg", 0.85));
        };
        img.src = full;
      };
      reader.readAsDataURL(file);
    });
  }

  // --- pushes -----------------------------------------------------------------------

  async function pollOnce(identity) {
    if (!identity) return;
    const conv = conversation(identity);
    const after = pushCursor.get(identity) || 0;
    let rows;
    try {
      const query = new URLSearchParams({ identity, after: String(after) });
      const res = await fetch(API + "pushes?" + query, { cache: "no-store" });
      if (!res.ok) throw new Error(String(res.status));
      rows = await res.json();
      status.textContent = "";
    } catch (e) {
      status.textContent = "与服务器的连接中断，正在重试…";
      return;
    }
    let changed = false;
    for (const row of rows) {
      // Two polls may overlap (timer and identity switch): show each push once.
      if (row.id <= (pushCursor.get(identity) || 0)) continue;
      pushCursor.set(identity, row.id);
      changed = true;
      const el = bubble(conv, "bot push");
      el.dataset.pushId = String(row.id);
      if (!fillReply(el, row.reply)) {
        el.remove();
        continue;
      }
      markPush(el);
      entries.set(el, { who: "bot", push: true, reply: row.reply });
    }
    if (changed) {
      scrollDown();
      persist(identity);
    }
  }

  function pollLoop() {
    pollOnce(currentIdentity()).finally(() => setTimeout(pollLoop, POLL_MS));
  }

  // --- wiring -----------------------------------------------------------------------

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendTyped();
  });
  voiceButton.addEventListener("click", () => {
    const voice = voiceButton.getAttribute("aria-pressed") !== "true";
    voiceButton.setAttribute("aria-pressed", String(voice));
    voiceButton.textContent = voice ? "键盘" : "语音";
    form.classList.toggle("voice", voice);
    input.placeholder = voice ? VOICE_PLACEHOLDER : TEXT_PLACEHOLDER;
    input.focus();
  });
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    // Cleared, so picking the same file again is a new message.
    fileInput.value = "";
    sendPicture(file);
  });
  select.addEventListener("change", () => choose(currentIdentity()));
  newGuestButton.addEventListener("click", () => {
    save(GUEST_KEY, "sim-guest-" + randomHex(6));
    save(IDENTITY_KEY, "");
    knownIdentities = "";
    select.textContent = "";
    refreshIdentities();
  });
  clearButton.addEventListener("click", () => {
    const identity = currentIdentity();
    if (!identity) return;
    // The push cursor stays: old pushes are not shown again.
    conversation(identity).textContent = "";
    persist(identity);
    input.focus();
  });

  refreshIdentities().then(() => setTimeout(pollLoop, POLL_MS));
  input.focus();
})();
