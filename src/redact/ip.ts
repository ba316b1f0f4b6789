import { isIPv4, isIPv6 } from 'node:net';

/**
 * An IP address cut to its network: /24 for IPv4 (`203.0.113.0/24`), /48 for IPv6
 * (`2001:db8:85a3::/48`). Undefined when the text is not an address.
 */
export function truncateIp(text: string): string | undefined {
  if (isIPv4(text)) {
    const [a, b, c] = text.split('.');
    return `${a ?? '0'}.${b ?? '0'}.${c ?? '0'}.0/24`;
  }
  if (isIPv6(text)) {
    const groups = expandIpv6(text);
    return `${groups
      .slice(0, 3)
      .map((g) => g.replace(/^0+(?=.)/, ''))
      .join(':')}::/48`;
  }
  return undefined;
}

/** The eight groups of an IPv6 address (an embedded IPv4 tail becomes two groups). */
function expandIpv6(text: string): string[] {
  let s = text.toLowerCase();
  const v4 = /(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4 !== null) {
    const [, a, b, c, d] = v4.map(Number) as [number, number, number, number, number];
    s = s.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head = '', tail] = s.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill =
    tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...fill, ...right];
}
