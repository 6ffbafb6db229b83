/*
 * The chat simulator page: pick an identity, send text through
 * /simulator/api/send, show the reply, and poll /simulator/api/pushes for late
 * replies and reminders.
 *
 * Every piece of user or bot text goes into the page with textContent, never as
 * markup: a message like "<img onerror=…>" must show as typed, not run.
 */
"use strict";

(function () {
  const API = "simulator/api/";
  const GUEST_KEY = "wecrm.simulator.guest";
  const IDENTITY_KEY = "wecrm.simulator.identity";
  const GUEST_LABEL = "新访客";

  // ?poll=<ms> lets tests (and impatient demos) poll faster than every 2 s.
  const POLL_MS = (function () {
    const asked = Number(new URLSearchParams(location.search).get("poll"));
    return Number.isFinite(asked) && asked > 0 ? Math.min(Math.max(asked, 200), 60000) : 2000;
  })();

  const select = document.getElementById("identity");
  const newGuestButton = document.getElementById("new-guest");
  const thread = document.getElementById("thread");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const status = document.getElementById("status");

  // Per identity: its conversation element and the highest push id shown in it.
  const conversations = new Map();
  const pushCursor = new Map();
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
    } catch (e) {
      /* nothing to keep it in: the identity lasts until reload */
    }
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

  function conversation(identity) {
    let conv = conversations.get(identity);
    if (!conv) {
      conv = document.createElement("div");
      conv.className = "conversation";
      conv.dataset.identity = identity;
      conv.hidden = true;
      thread.appendChild(conv);
      conversations.set(identity, conv);
    }
    return conv;
  }

  function show(identity) {
    for (const [id, conv] of conversations) conv.hidden = id !== identity;
    conversation(identity).hidden = false;
    scrollDown();
  }

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
        const img = document.createElement("img");
        img.className = "pushed-image";
        img.src = reply.image_url;
        img.alt = reply.text || "图片";
        el.appendChild(img);
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
    pollOnce(identity);
  }

  // --- sending ----------------------------------------------------------------------

  async function send() {
    const text = input.value;
    const identity = currentIdentity();
    if (!text.trim() || !identity) return;
    input.value = "";
    input.focus();
    const conv = conversation(identity);
    bubble(conv, "user", text);
    // Placeholder right after the question, so replies stay in order when several are in flight.
    const answer = bubble(conv, "bot pending", "…");
    let res;
    let data = null;
    try {
      res = await fetch(API + "send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ identity, text, msg_id: "web-" + randomHex(12) }),
      });
      data = await res.json().catch(() => null);
    } catch (e) {
      fillError(answer, "网络错误，消息没有送达，请稍后重试。");
      return;
    }
    if (!res.ok || !data) {
      fillError(answer, "发送失败：" + ((data && data.error) || "服务器错误（" + res.status + "）"));
      return;
    }
    if (!fillReply(answer, data.reply)) answer.remove();
    // A 绑定 may just have turned someone into staff: let the picker catch up.
    refreshIdentities();
  }

  // --- pushes -----------------------------------------------------------------------

  async function pollOnce(identity) {
    if (!identity) return;
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
    const conv = conversation(identity);
    for (const row of rows) {
      // Two polls may overlap (timer and identity switch): show each push once.
      if (row.id <= (pushCursor.get(identity) || 0)) continue;
      pushCursor.set(identity, row.id);
      const el = bubble(conv, "bot push");
      el.dataset.pushId = String(row.id);
      if (!fillReply(el, row.reply)) {
        el.remove();
        continue;
      }
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "推送";
      el.prepend(tag);
    }
  }

  function pollLoop() {
    pollOnce(currentIdentity()).finally(() => setTimeout(pollLoop, POLL_MS));
  }

  // --- wiring -----------------------------------------------------------------------

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  select.addEventListener("change", () => choose(currentIdentity()));
  newGuestButton.addEventListener("click", () => {
    save(GUEST_KEY, "sim-guest-" + randomHex(6));
    save(IDENTITY_KEY, "");
    knownIdentities = "";
    select.textContent = "";
    refreshIdentities();
  });

  refreshIdentities().then(() => setTimeout(pollLoop, POLL_MS));
  input.focus();
})();
