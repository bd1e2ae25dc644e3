// @ts-check
/** Page-wide keys: `/` focuses the filter (unless typing somewhere), Escape in the filter clears it. @module */

/** @param {HTMLInputElement} filter */
export function installKeys(filter) {
  document.addEventListener("keydown", (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    const typing = target.closest("input, select, textarea, [contenteditable]") !== null;
    const inDialog = target.closest("dialog") !== null;
    if (e.key === "/" && !typing && !inDialog && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      filter.focus();
      filter.select();
    } else if (e.key === "Escape" && target === filter && filter.value !== "") {
      filter.value = "";
      filter.dispatchEvent(new Event("input"));
    }
  });
}
