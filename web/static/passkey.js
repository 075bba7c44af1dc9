// Passkeys on the hosted pages. Each form with data-passkey runs a
// WebAuthn ceremony before it is posted: it asks the server for the
// options (data-begin, with the form's CSRF token, mfa_token and password:
// adding a passkey needs the password, which goes to that step only),
// calls navigator.credentials, puts the ceremony id and the answer into
// the form's hidden fields and submits it. Without this script, or
// without WebAuthn in the browser, those forms stay hidden and the pages
// work as before with passwords and codes.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (c) {
      var d = { type: c.type, id: fromB64url(c.id) };
      if (c.transports) {
        d.transports = c.transports;
      }
      return d;
    });
  }
  function creationOptions(o) {
    o.challenge = fromB64url(o.challenge);
    o.user.id = fromB64url(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  }
  function requestOptions(o) {
    o.challenge = fromB64url(o.challenge);
    if (o.allowCredentials) {
      o.allowCredentials = descriptors(o.allowCredentials);
    }
    return o;
  }
  function credentialJSON(c) {
    var r = c.response;
    var out = {
      id: c.id,
      rawId: toB64url(c.rawId),
      type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (c.authenticatorAttachment) {
      out.authenticatorAttachment = c.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64url(r.userHandle);
      }
    }
    return out;
  }
  function showError(form, message) {
    var box = document.getElementById(form.getAttribute("data-error"));
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }
  function run(form, submitter) {
    var body = new URLSearchParams();
    ["csrf_token", "mfa_token", "password"].forEach(function (name) {
      var f = form.elements.namedItem(name);
      if (f && f.value) {
        body.set(name, f.value);
      }
    });
    if (submitter) {
      submitter.disabled = true;
    }
    fetch(form.getAttribute("data-begin"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (res) {
      return res.json().then(function (j) {
        if (!res.ok) {
          throw new Error(j.error || "The server refused to start.");
        }
        return j;
      });
    }).then(function (j) {
      form.elements.namedItem("ceremony_id").value = j.ceremonyId;
      if (form.getAttribute("data-passkey") === "create") {
        return navigator.credentials.create({ publicKey: creationOptions(j.publicKey) });
      }
      return navigator.credentials.get({ publicKey: requestOptions(j.publicKey) });
    }).then(function (cred) {
      if (!cred) {
        throw new Error("No passkey was chosen.");
      }
      form.elements.namedItem("credential").value = JSON.stringify(credentialJSON(cred));
      var password = form.elements.namedItem("password");
      if (password) {
        password.disabled = true; // checked by the begin step; not sent again
      }
      form.submit();
    }).catch(function (err) {
      if (submitter) {
        submitter.disabled = false;
      }
      var msg = err && err.name === "NotAllowedError"
        ? "The passkey was not used: it was cancelled, timed out, or this device has none for this site."
        : (err && err.message) || "The passkey could not be used.";
      showError(form, msg);
    });
  }
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      run(form, ev.submitter);
    });
  });
  document.querySelectorAll("[data-passkey-only]").forEach(function (el) {
    el.hidden = false;
  });
})();
