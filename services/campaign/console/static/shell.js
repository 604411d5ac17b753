// The shell of every signed-in page: sign out.
import { api } from "./app.js";

document.getElementById("sign-out")?.addEventListener("click", async () => {
  await api("POST", "/signout", { root: true });
  window.location.assign("/signin");
});
