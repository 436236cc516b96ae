// The hub's admin pages: (1) a connection form shows only the fields its auth scheme uses;
// (2) buttons that take a while (Test connection) show that they are working; (3) copy
// buttons for the secret and the receiving URL. Without JavaScript every field stays visible.
document.addEventListener("DOMContentLoaded", () => {
  const schemes = document.getElementById("hub-auth-fields");
  const select = document.getElementById("id_auth_scheme");
  const provider = document.getElementById("id_provider");
  if (schemes && select) {
    const table = JSON.parse(schemes.textContent);
    const all = [...new Set(Object.values(table.fields).flat())];
    const show = () => {
      const scheme = select.value || table.defaults[provider ? provider.value : ""] || "bearer";
      const wanted = table.fields[scheme] || all;
      for (const name of all) {
        const row = document.querySelector(`.form-row.field-${name}`);
        if (row) row.hidden = !wanted.includes(name);
      }
    };
    select.addEventListener("change", show);
    if (provider) provider.addEventListener("change", show);
    show();
  }
  for (const form of document.querySelectorAll("form[data-pending]")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button");
      button.disabled = true;
      button.textContent = form.dataset.pending;
    });
  }
  for (const target of document.querySelectorAll("[data-copy]")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "hub-copy";
    button.textContent = "Copy";
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        button.textContent = "Copied";
      } catch (error) {
        const range = document.createRange();
        range.selectNodeContents(target);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
    });
    target.after(button);
  }
});
