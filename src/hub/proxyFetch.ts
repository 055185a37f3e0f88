/**
 * fetch for the Hub client that goes through the proxy the environment names (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY,
 * minus NO_PROXY), as huggingface_hub does; Node's built-in fetch ignores those variables. Requests with no proxy
 * use the built-in fetch; proxied ones use undici's fetch with a ProxyAgent (an HTTP CONNECT tunnel), loaded only then.
 */
import { getProxyForUrl } from 'proxy-from-env';

/** One tunnel agent per proxy URL, kept for the process (its connections are reused). */
const agents = new Map<string, import('undici').ProxyAgent>();

/** The proxy a request to `url` goes through, or undefined. */
export function proxyFor(url: string): string | undefined {
  return getProxyForUrl(url) || undefined;
}

/** A proxy URL fit for messages: user and password replaced by "***". */
export function redactProxy(proxy: string): string {
  try {
    const parsed = new URL(proxy);
    if (parsed.username || parsed.password) {
      parsed.username = '***';
      parsed.password = '';
    }
    return parsed.href.replace(/\/$/, '');
  } catch {
    return '(unparseable proxy URL)';
  }
}

export async function proxyFetch(url: string, init: RequestInit): Promise<Response> {
  const proxy = proxyFor(url);
  if (!proxy) return fetch(url, init);
  const { fetch: undiciFetch, ProxyAgent } = await import('undici');
  let agent = agents.get(proxy);
  if (!agent) agents.set(proxy, (agent = new ProxyAgent(proxy)));
  // undici's Response is the class Node's fetch returns, typed separately.
  return (await undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as Response;
}
