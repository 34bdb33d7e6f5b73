import { html, type SafeHtml, trustedHtml } from './html.template.ts';

/**
 * Headers on every partner page. The pages run no script, so the policy allows none; `form-action
 * 'self'` keeps an injected form from posting elsewhere; links carry tokens in their path, so no
 * page sends a Referer; and tokens and personal data must not sit in shared caches.
 */
export const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

// Small, readable on a phone, visible focus, and errors that do not rely on colour alone.
const CSS = `
*,*::before,*::after{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#f4f5f7}
main{max-width:42rem;margin:0 auto;padding:1.5rem 1rem 3rem;background:#fff;min-height:100vh}
@media (min-width:48rem){main{margin:2rem auto;min-height:0;border-radius:8px;padding:2rem 2.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 .5rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.lede{color:#4a4a4a;margin-top:0}
fieldset{border:0;padding:0;margin:0}
legend{font-weight:600;font-size:1.1rem;margin:1.5rem 0 .5rem}
.field{margin:0 0 1.1rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
.hint{display:block;color:#4a4a4a;font-weight:400;font-size:.9rem}
.req{font-weight:400;color:#4a4a4a}
input,select,textarea{width:100%;font:inherit;padding:.5rem .6rem;border:2px solid #6b6b6b;border-radius:4px;background:#fff;color:inherit}
textarea{min-height:6rem}
input:focus,select:focus,textarea:focus,a:focus,button:focus{outline:3px solid #ffbf47;outline-offset:1px}
[aria-invalid="true"]{border-color:#b10e1e}
.field-error{color:#b10e1e;font-weight:600;margin:.1rem 0 .3rem}
.field.has-error{border-left:4px solid #b10e1e;padding-left:.75rem}
.error-summary{border:4px solid #b10e1e;padding:1rem 1.25rem;margin:0 0 1.5rem}
.error-summary h2{margin-top:0}
.error-summary a{color:#b10e1e;font-weight:600}
.notice{border-left:6px solid #1d70b8;background:#eef5fb;padding:.75rem 1rem;margin:0 0 1.5rem}
.notice.warn{border-color:#b58105;background:#fdf6e3}
.notice.ok{border-color:#00703c;background:#ebf6ef}
button{font:inherit;font-weight:600;padding:.6rem 1.4rem;border:0;border-radius:4px;background:#00703c;color:#fff;cursor:pointer}
button:hover{background:#005a30}
table{width:100%;border-collapse:collapse;font-size:.95rem}
caption{text-align:left;font-weight:600;margin-bottom:.5rem}
th,td{text-align:left;padding:.5rem .4rem;border-bottom:1px solid #d0d0d0;vertical-align:top}
.table-wrap{overflow-x:auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0}
.visually-hidden{position:absolute!important;width:1px;height:1px;margin:0;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
footer{margin-top:2rem;color:#4a4a4a;font-size:.85rem}
`;

export interface PageOptions {
  title: string;
  /** Prefixes the title with "Error:", so a screen reader hears the problem first. */
  hasErrors?: boolean;
  body: SafeHtml;
}

export function page({ title, hasErrors, body }: PageOptions): string {
  const fullTitle = `${hasErrors ? 'Error: ' : ''}${title} – PartnerLoop`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${fullTitle}</title>
<style>${trustedHtml(CSS)}</style>
</head>
<body>
<main id="main">
${body}
</main>
</body>
</html>
`.value;
}

/** A page that only says something: an error, an expired link, a refusal. */
export function messagePage(title: string, paragraphs: (string | SafeHtml)[]): string {
  return page({
    title,
    body: html`<h1>${title}</h1>
${paragraphs.map((p) => html`<p>${p}</p>`)}`,
  });
}
