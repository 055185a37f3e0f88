/** proxy-from-env ships no types; this is its one export (https://github.com/Rob--W/proxy-from-env). */
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from HTTP_PROXY / HTTPS_PROXY / ALL_PROXY (and npm_config_* forms), '' when NO_PROXY matches or none is set. */
  export function getProxyForUrl(url: string): string;
}
