// Tessera console: small enhancements only; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: <button data-copy="element-id">.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const text = source.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
    });
  }

  // A section checkbox ticks or clears every field checkbox of its section.
  for (const section of document.querySelectorAll("input[data-section]")) {
    const fields = document.querySelectorAll(`input[data-in-section="${section.dataset.section}"]`);
    section.addEventListener("change", () => {
      for (const field of fields) field.checked = section.checked;
    });
    for (const field of fields) {
      field.addEventListener("change", () => {
        section.checked = Array.from(fields).every((f) => f.checked);
      });
    }
  }

  // Select-all checkboxes of the permission matrix: one per row (every
  // action on a resource) and per column (one action on every resource).
  const matrix = document.getElementById("permission-matrix");
  if (matrix) {
    const groups = [];
    for (const all of matrix.querySelectorAll("input[data-select-row]")) {
      groups.push([all, matrix.querySelectorAll(`input[name="action.${all.dataset.selectRow}"]`)]);
    }
    for (const all of matrix.querySelectorAll("input[data-select-column]")) {
      groups.push([all, matrix.querySelectorAll(`input[name^="action."][value="${all.dataset.selectColumn}"]`)]);
    }
    const refresh = () => {
      for (const [all, boxes] of groups) {
        all.checked = boxes.length > 0 && Array.from(boxes).every((b) => b.checked);
      }
    };
    for (const [all, boxes] of groups) {
      all.hidden = false;
      all.addEventListener("change", () => {
        for (const box of boxes) box.checked = all.checked;
        refresh();
      });
    }
    for (const box of matrix.querySelectorAll('input[name^="action."]')) {
      box.addEventListener("change", refresh);
    }
    refresh();
  }

  // Move focus to a form's error summary so screen readers announce it.
  const summary = document.getElementById("form-errors");
  if (summary) summary.focus();
});
