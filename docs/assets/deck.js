/* The opening deck (instructor/deck.md): one slide at a time, full screen, offline.
   Keys: → ↓ Space PageDown next; ← ↑ PageUp Shift+Space Backspace back; Home End; F full screen.
   The slide number is kept in the address (#slide-3). Without JavaScript the slides read as a page. */
(function () {
  "use strict";
  const deck = document.querySelector(".ll-deck");
  if (!deck) return;
  const slides = Array.from(deck.querySelectorAll(".ll-slide"));
  if (!slides.length) return;
  document.documentElement.classList.add("ll-deck-mode");

  // The toolbar speaks the page's language (the Chinese deck is built under zh/).
  const WORDS = {
    en: {slides: "Slides", previous: "Previous slide", next: "Next slide", agenda: "Agenda",
         full: "Full screen (F)", leave: "Leave the deck"},
    zh: {slides: "幻灯片", previous: "上一张", next: "下一张", agenda: "议程",
         full: "全屏（F）", leave: "退出幻灯片"},
  };
  const words = WORDS[document.documentElement.lang.slice(0, 2)] || WORDS.en;
  const agendas = Array.from(deck.querySelectorAll(".ll-agenda"));
  const bar = document.createElement("nav");
  bar.className = "ll-deck__bar";
  bar.setAttribute("aria-label", words.slides);
  bar.innerHTML =
    `<button type="button" data-go="-1" aria-label="${words.previous}">‹</button>` +
    '<span class="ll-deck__count" aria-live="polite"></span>' +
    `<button type="button" data-go="1" aria-label="${words.next}">›</button>` +
    (agendas.length > 1 ? `<label>${words.agenda} <select class="ll-deck__agenda"></select></label>` : "") +
    `<button type="button" class="ll-deck__full">${words.full}</button>` +
    `<a href="../facilitator.html">${words.leave}</a>`;
  deck.appendChild(bar);
  const count = bar.querySelector(".ll-deck__count");

  const select = bar.querySelector(".ll-deck__agenda");
  function showAgenda(key) {
    agendas.forEach((a) => { a.hidden = a.dataset.agenda !== key; });
  }
  if (select) {
    // Several slides (the outcomes, the agenda) hold one block per agenda: one option per agenda.
    [...new Set(agendas.map((a) => a.dataset.agenda))].forEach((key) => {
      const option = document.createElement("option");
      option.value = key;
      option.textContent = key;
      select.appendChild(option);
    });
    const wanted = new URLSearchParams(location.search).get("agenda");
    if (wanted && agendas.some((a) => a.dataset.agenda === wanted)) select.value = wanted;
    showAgenda(select.value);
    select.addEventListener("change", () => {
      showAgenda(select.value);
      const url = new URL(location.href);
      url.searchParams.set("agenda", select.value);
      try { history.replaceState(null, "", url); } catch (error) { /* as above */ }
    });
  }

  let current = 0;
  function show(index) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    slides.forEach((slide, i) => {
      const on = i === current;
      slide.classList.toggle("ll-slide--current", on);
      slide.setAttribute("aria-hidden", on ? "false" : "true");
    });
    count.textContent = `${current + 1} / ${slides.length}`;
    try {  // keep the place on reload; a browser may refuse it for file:// pages, which is fine
      history.replaceState(null, "", `${location.pathname}${location.search}#slide-${current + 1}`);
    } catch (error) { /* the deck works without it */ }
  }
  const fromHash = /^#slide-(\d+)$/.exec(location.hash);
  show(fromHash ? Number(fromHash[1]) - 1 : 0);

  bar.addEventListener("click", (event) => {
    const go = event.target.closest("[data-go]");
    if (go) show(current + Number(go.dataset.go));
    if (event.target.closest(".ll-deck__full")) fullScreen();
  });
  function fullScreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
  }

  const NEXT = ["ArrowRight", "ArrowDown", "PageDown", " "];
  const BACK = ["ArrowLeft", "ArrowUp", "PageUp", "Backspace"];
  // Capture phase, before Material's own shortcuts (F and S open its search).
  window.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target && target.closest && target.closest("input, select, textarea, [contenteditable]")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    let handled = true;
    if (event.key === " " && event.shiftKey) show(current - 1);
    else if (NEXT.includes(event.key)) show(current + 1);
    else if (BACK.includes(event.key)) show(current - 1);
    else if (event.key === "Home") show(0);
    else if (event.key === "End") show(slides.length - 1);
    else if (event.key === "f" || event.key === "F") fullScreen();
    else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
