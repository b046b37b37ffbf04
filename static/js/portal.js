/* Page behaviour that would otherwise be inline (the Content-Security-Policy allows no inline script or style):
 *   <select data-autosubmit>        submits its form when changed;
 *   <form data-confirm="…">         asks before submitting;
 *   <div data-progress="42">        gets width 42% (progress bars, also in content htmx swaps in);
 *   <input class="file-pick-input">  shows the chosen file's name in its form's .file-pick-name (the browser's
 *                                    own "Choose File / No file chosen" follows its language, not ours);
 *   <form class="upload-form">      once sent, its button is disabled and shows a spinner with the file's name
 *                                    (a large file takes seconds to upload and check, with or without a worker). */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  function fileLabel(file) {
    var size = file.size >= 1024 * 1024 ? (file.size / 1024 / 1024).toFixed(1) + " MB" : Math.max(1, Math.round(file.size / 1024)) + " KB";
    return file.name + "（" + size + "）";
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input.file-pick-input")) return;
    var shown = input.form && input.form.querySelector(".file-pick-name");
    if (!shown) return;
    var file = input.files && input.files[0];
    shown.textContent = file ? fileLabel(file) : "未选择文件";
    shown.classList.toggle("text-body-secondary", !file);
    shown.classList.toggle("fw-semibold", !!file);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.matches || !form.matches("form.upload-form")) return;
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    var status = form.querySelector(".upload-status");
    if (!status) {
      status = document.createElement("div");
      status.className = "upload-status small mt-1";
      status.setAttribute("role", "status");
      form.appendChild(status);
    }
    if (!file) {
      event.preventDefault();
      status.className = "upload-status small mt-1 text-danger";
      status.textContent = "请先点击“选择文件”选择要上传的文件。";
      return;
    }
    form.classList.add("is-uploading");
    Array.prototype.forEach.call(document.querySelectorAll("form.upload-form button[type=submit]"), function (button) {
      button.disabled = true;
    });
    Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (button) {
      button.setAttribute("data-label", button.textContent);
      button.textContent = "上传中…";
      var spinner = document.createElement("span");
      spinner.className = "spinner-border spinner-border-sm me-1";
      spinner.setAttribute("aria-hidden", "true");
      button.insertBefore(spinner, button.firstChild);
    });
    status.className = "upload-status small mt-1 text-primary";
    status.textContent = "正在上传并检查“" + fileLabel(file) + "”，文件较大时需要一些时间，请勿关闭或刷新页面…";
  });

  // Back to a page whose upload was under way (the browser's cache): its buttons work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    Array.prototype.forEach.call(document.querySelectorAll("form.upload-form button[type=submit]"), function (button) {
      button.disabled = false;
      if (button.hasAttribute("data-label")) button.textContent = button.getAttribute("data-label");
    });
    Array.prototype.forEach.call(document.querySelectorAll("form.upload-form .upload-status"), function (status) {
      status.remove();
    });
  });

  function showProgress(root) {
    var bars = Array.prototype.slice.call(root.querySelectorAll("[data-progress]"));
    if (root.hasAttribute && root.hasAttribute("data-progress")) bars.push(root);
    bars.forEach(function (bar) { bar.style.width = Number(bar.getAttribute("data-progress")) + "%"; });
  }

  if (window.htmx) {
    window.htmx.onLoad(showProgress);  // the page itself, then every swapped-in fragment
  } else {
    showProgress(document);
  }
})();
