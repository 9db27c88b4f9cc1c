// FAST (under the toolkit) probes `:focus-visible` support with a <style> element when its module loads; under
// the webview CSP (style-src with a nonce) that element needs the page's nonce, which FAST reads from
// <meta property="csp-nonce">. Provide that meta from the nonce of our own <script> when the page has none.
// Imported first by components/index.ts, so it runs before the toolkit module is evaluated.

if (typeof document !== 'undefined' && !document.querySelector('meta[property="csp-nonce"]')) {
  const script = document.querySelector('script[nonce]') as HTMLScriptElement | null;
  const nonce = script?.nonce || script?.getAttribute('nonce');
  if (nonce) {
    const meta = document.createElement('meta');
    meta.setAttribute('property', 'csp-nonce');
    meta.setAttribute('content', nonce);
    document.head.append(meta);
  }
}

export {};
