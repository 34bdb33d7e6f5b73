import { escapeHtml } from '../portal/html.template.ts';

/**
 * The per-send half of email rendering: a template compiled once (MJML → HTML, or the plain-text
 * twin) is split here into literal parts and placeholders, and each send only fills them in.
 *
 *   {{path}}            a value, HTML-escaped in HTML templates
 *   {{{path}}}          a value inserted as is: only for markup our own code built (never data)
 *   {{#path}}…{{/path}} a list (repeated per item, items' fields first in scope) or a condition
 *   {{^path}}…{{/path}} shown when the value is missing, false or an empty list
 */

export type TemplateValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | TemplateData
  | TemplateData[];
export interface TemplateData {
  [key: string]: TemplateValue;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; path: string[]; raw: boolean }
  | { kind: 'section'; path: string[]; inverted: boolean; children: Node[] };

export interface CompiledTemplate {
  nodes: Node[];
  mode: 'html' | 'text';
}

const TAG = /\{\{(\{)?\s*([#^/])?\s*([A-Za-z_][\w.]*)\s*\}?\}\}/g;

export function parseTemplate(source: string, mode: 'html' | 'text'): CompiledTemplate {
  const root: Node[] = [];
  const stack: { path: string; children: Node[] }[] = [{ path: '', children: root }];
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const [whole, brace, sigil, name] = match;
    const top = stack[stack.length - 1] as { path: string; children: Node[] };
    if (match.index > last) top.children.push({ kind: 'text', text: source.slice(last, match.index) });
    last = match.index + whole.length;
    const path = (name as string).split('.');
    if (sigil === '#' || sigil === '^') {
      const node: Node = { kind: 'section', path, inverted: sigil === '^', children: [] };
      top.children.push(node);
      stack.push({ path: name as string, children: node.children });
    } else if (sigil === '/') {
      if (stack.length === 1 || top.path !== name) throw new Error(`template: unexpected {{/${name}}}`);
      stack.pop();
    } else {
      top.children.push({ kind: 'value', path, raw: brace === '{' });
    }
  }
  if (stack.length > 1) throw new Error(`template: {{#${stack[stack.length - 1]?.path}}} is not closed`);
  if (last < source.length) root.push({ kind: 'text', text: source.slice(last) });
  return { nodes: root, mode };
}

function lookup(scopes: TemplateData[], path: string[]): TemplateValue {
  for (let i = scopes.length - 1; i >= 0; i--) {
    let value: TemplateValue = scopes[i];
    let found = true;
    for (const key of path) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value) && key in value) {
        value = (value as TemplateData)[key];
      } else {
        found = false;
        break;
      }
    }
    if (found) return value;
  }
  return undefined;
}

function isEmpty(value: TemplateValue): boolean {
  return (
    value === undefined ||
    value === null ||
    value === false ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  );
}

function renderNodes(nodes: Node[], scopes: TemplateData[], html: boolean, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text') {
      out.push(node.text);
    } else if (node.kind === 'value') {
      const value = lookup(scopes, node.path);
      if (value === undefined || value === null || typeof value === 'object') continue;
      const text = String(value);
      out.push(html && !node.raw ? escapeHtml(text) : text);
    } else {
      const value = lookup(scopes, node.path);
      if (node.inverted) {
        if (isEmpty(value)) renderNodes(node.children, scopes, html, out);
      } else if (Array.isArray(value)) {
        for (const item of value) renderNodes(node.children, [...scopes, item], html, out);
      } else if (!isEmpty(value)) {
        const scope =
          typeof value === 'object' && value !== null ? [...scopes, value as TemplateData] : scopes;
        renderNodes(node.children, scope, html, out);
      }
    }
  }
}

export function renderTemplate(template: CompiledTemplate, data: TemplateData): string {
  const out: string[] = [];
  renderNodes(template.nodes, [data], template.mode === 'html', out);
  return out.join('');
}
