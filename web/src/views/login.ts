import { confirmSignUp, login, signUp } from "../auth";
import { h, replace } from "../dom";
import { t } from "../i18n";
import { errorMessage, showMessage } from "../ui";

export function loginView(root: HTMLElement, onLoggedIn: () => void): () => void {
  let mode: "login" | "signup" | "confirm" = "login";
  let pendingEmail = "";
  let pendingPassword = "";
  const render = () => {
    const msg = h("p", { class: "message", "data-testid": "auth-message" });
    const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true,
      value: pendingEmail, "aria-label": t("email") });
    const password = h("input", { type: "password", name: "password", required: true, value: pendingPassword,
      autocomplete: mode === "signup" ? "new-password" : "current-password", "aria-label": t("password") });
    const code = h("input", { name: "code", inputmode: "numeric", "aria-label": t("confirmCode") });
    const submit = async (ev: Event) => {
      ev.preventDefault();
      showMessage(msg, t("loading"));
      try {
        if (mode === "signup") {
          pendingEmail = email.value.trim();
          pendingPassword = password.value;
          const confirmed = await signUp(pendingEmail, pendingPassword);
          if (!confirmed) {
            mode = "confirm";
            render();
            return;
          }
        } else if (mode === "confirm") {
          await confirmSignUp(pendingEmail, code.value.trim());
        } else {
          pendingEmail = email.value.trim();
          pendingPassword = password.value;
        }
        await login(pendingEmail, pendingPassword);
        pendingPassword = "";
        onLoggedIn();
      } catch (e) {
        showMessage(msg, errorMessage(e), "error");
      }
    };
    const fields = mode === "confirm"
      ? [h("p", null, t("codeSent")), h("label", null, t("confirmCode"), code)]
      : [h("label", null, t("email"), email), h("label", null, t("password"), password)];
    replace(root, h("section", { class: "auth" },
      h("h1", null, t("appName")),
      h("h2", null, mode === "login" ? t("login") : t("signup")),
      h("form", { onsubmit: submit, "data-testid": `${mode}-form` }, fields,
        h("button", { type: "submit", class: "primary" },
          mode === "login" ? t("login") : mode === "signup" ? t("signup") : t("confirm"))),
      msg,
      mode !== "confirm" ? h("button", { class: "link", type: "button", "data-testid": "auth-switch",
        onclick: () => { mode = mode === "login" ? "signup" : "login"; render(); } },
      mode === "login" ? t("noAccount") : t("haveAccount")) : null));
  };
  render();
  return () => undefined;
}
