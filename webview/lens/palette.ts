// Expert colours. Each expert gets a hue (well separated for small E, golden-angle spread beyond); the
// lightness comes from the theme (see styles.css: --moe-l), so the same hue reads on light and dark
// backgrounds. Tokens get only a translucent tint + an underline in that colour, so text stays readable;
// high-contrast themes switch to outlines and expert numbers.
//
// Rules are installed in a constructable stylesheet (allowed by the webview CSP), one per expert:
//   .x<e> { --xc: hsl(H S% var(--moe-l)); }

const BASE_HUES = [210, 25, 130, 280, 50, 330, 175, 0, 95, 250, 195, 305];

export function expertHue(e: number): number {
  if (e < BASE_HUES.length) return BASE_HUES[e];
  return Math.round((BASE_HUES[e % BASE_HUES.length] + 137.508 * Math.floor(e / BASE_HUES.length)) % 360);
}

let installedFor = 0;
let sheet: CSSStyleSheet | undefined;
let fallbackStyle: HTMLStyleElement | undefined;

/** Make sure colour classes x0..x(E-1) exist. */
export function installPalette(experts: number): void {
  const n = Math.max(experts, 16);
  if (n <= installedFor) return;
  installedFor = n;
  let css = '';
  for (let e = 0; e < n; e++) {
    const sat = e < BASE_HUES.length ? 70 : 55 + ((e * 7) % 25);
    css += `.x${e}{--xc:hsl(${expertHue(e)} ${sat}% var(--moe-l));}\n`;
  }
  try {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
    sheet.replaceSync(css);
  } catch {
    // No constructable stylesheets: a <style> element (needs style-src nonce in a strict CSP; tests only).
    if (!fallbackStyle) {
      fallbackStyle = document.createElement('style');
      document.head.append(fallbackStyle);
    }
    fallbackStyle.textContent = css;
  }
}
