// Copy buttons. A button[data-copy] copies the value of the field it
// controls (aria-controls) to the clipboard and says so in the element
// named by data-status. The buttons are hidden in the page and shown only
// by this script, so without it the page shows the field alone, read-only
// and selectable, and nothing that does not work.
"use strict";
(function () {
  function say(button, text) {
    var status = document.getElementById(button.getAttribute("data-status"));
    if (status) {
      status.textContent = text;
    }
  }
  function copied(button) {
    button.textContent = "Copied";
    say(button, "The secret is copied to the clipboard.");
  }
  function copy(button) {
    var field = document.getElementById(button.getAttribute("aria-controls"));
    if (!field) {
      return;
    }
    field.focus();
    field.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () { copied(button); }, function () {
        say(button, "The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
      });
      return;
    }
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    if (ok) {
      copied(button);
    } else {
      say(button, "The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
    }
  }
  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function (ev) { copy(ev.currentTarget); });
  }
})();
