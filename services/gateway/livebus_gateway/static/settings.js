// The page's settings: defaults, what was saved, what the URL says, all validated (pure).

export const VOICES = ["Puck", "Charon", "Kore", "Fenrir", "Aoede", "Leda", "Orus", "Zephyr"];
export const MAX_FPS = 4;
export const STORAGE_KEY = "livebus.settings";
export const TRANSPORTS = ["websocket", "webrtc"];
export const DEFAULTS = Object.freeze({
  model: "", voice: "Puck", system: "", fps: 1, processing: true, pushToTalk: false,
  transport: "websocket",
});

/** "off", "false" and "0" (any case) turn a switch off. */
export function isOff(value) {
  return /^(off|false|0)$/i.test(String(value ?? ""));
}

/** Settings with every field of the right type and range; anything else falls back to the default. */
export function validSettings(raw) {
  const r = raw && typeof raw === "object" ? raw : {};
  const fps = Number(r.fps);
  return {
    model: typeof r.model === "string" ? r.model.trim() : DEFAULTS.model,
    voice: VOICES.includes(r.voice) ? r.voice : DEFAULTS.voice,
    system: typeof r.system === "string" ? r.system : DEFAULTS.system,
    fps: Number.isFinite(fps) && fps > 0 && fps <= MAX_FPS ? fps : DEFAULTS.fps,
    processing: typeof r.processing === "boolean" ? r.processing : DEFAULTS.processing,
    pushToTalk: typeof r.pushToTalk === "boolean" ? r.pushToTalk : DEFAULTS.pushToTalk,
    transport: TRANSPORTS.includes(r.transport) ? r.transport : DEFAULTS.transport,
  };
}

/** What localStorage held (a corrupt or foreign entry counts as nothing saved). */
export function parseSaved(text) {
  try {
    const v = JSON.parse(text || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** Overrides from the URL (handy for links and tests): ?voice=Kore&fps=2&ptt=on&transport=webrtc */
export function fromQuery(params) {
  const out = {};
  for (const key of ["model", "voice", "system", "transport"]) {
    if (params.has(key)) out[key] = params.get(key);
  }
  if (params.has("fps")) out.fps = Number(params.get("fps"));
  if (params.has("processing")) out.processing = !isOff(params.get("processing"));
  if (params.has("ptt")) out.pushToTalk = !isOff(params.get("ptt"));
  return out;
}

/** Saved settings, then the URL's, over the defaults. `storage` is a Storage (getItem). */
export function loadSettings(storage, params) {
  let saved = {};
  try {
    saved = parseSaved(storage?.getItem(STORAGE_KEY));
  } catch { /* storage disabled */ }
  return validSettings({ ...DEFAULTS, ...saved, ...fromQuery(params) });
}

export function saveSettings(storage, settings) {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(validSettings(settings)));
  } catch { /* storage full or disabled: settings last for this page only */ }
}

/** The model to preselect: the wanted one if the gateway offers it, else its first. */
export function chooseModel(wanted, models) {
  return wanted && models.includes(wanted) ? wanted : models[0] ?? "";
}

/** A model's name for people ("models/gemini-x" -> "gemini-x"). */
export function modelLabel(model) {
  return String(model).replace(/^models\//, "");
}
