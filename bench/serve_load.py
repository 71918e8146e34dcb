#!/usr/bin/env python3
"""Open-loop load for `consentform serve` (bench/serve.sh runs it): requests are sent at a fixed
rate whatever the replies do, each on its own connection, to 127.0.0.1 only; bounded by count
and time. Latency is measured from the moment a request was due, so a client or server that
falls behind shows in the figures. Prints achieved rate, p50, p99, errors and the server's
peak RSS (sampled from /proc/PID/status) with its RSS at the start and the end of the run, and
the server's CPU time per request (/proc/PID/stat: what the figures cost when the cores are
shared).

usage: serve_load.py PORT PID COOKIE CSRF RATE SECONDS FORM"""
import asyncio
import sys
import time
import urllib.parse


def cpu_seconds(pid):
    """User + system CPU time of the server so far (all its threads)."""
    import os
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


async def one(port, request, due, results):
    delay = due - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    status = 0
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', port), 10)
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 30)
        status = int(head.split(b' ', 2)[1])
        length = 0
        for line in head.split(b'\r\n'):
            if line.lower().startswith(b'content-length:'):
                length = int(line.split(b':', 1)[1])
        await asyncio.wait_for(reader.readexactly(length), 30)
        writer.close()
    except Exception:
        status = -1
    results.append((time.monotonic() - due, status))


async def run(port, pid, cookie, csrf, rate, seconds, form):
    n = int(rate * seconds)
    fields = {'csrf': csrf, 'form': form, 'override': 'yes', 'f_patient_name': '陳大文',
              'f_episode_no': 'HE1234567'}
    results = []
    tasks = []
    rss = [rss_kb(pid)]
    cpu_start = cpu_seconds(pid)
    start = time.monotonic() + 0.2
    for i in range(n):
        fields['f_hospital_no'] = 'HN%08d(%d)' % (10000000 + i, i % 10)
        body = urllib.parse.urlencode(fields).encode()
        request = (b'POST /issue HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: cf_session=%s\r\n'
                   b'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n'
                   b'Connection: close\r\n\r\n' % (port, cookie.encode(), len(body))) + body
        tasks.append(asyncio.ensure_future(one(port, request, start + i / rate, results)))
    sampled_until = start + seconds
    while time.monotonic() < sampled_until:
        await asyncio.sleep(0.25)
        rss.append(rss_kb(pid))
    await asyncio.wait(tasks, timeout=60)
    end = max((start + i / rate) for i in range(n)) if n else start
    rss.append(rss_kb(pid))
    cpu = cpu_seconds(pid) - cpu_start
    lat = sorted(r[0] * 1000 for r in results if r[1] == 200)
    errors = sum(1 for r in results if r[1] != 200)
    done = len(lat)
    if not lat:
        print('rate %4d/s: no successful request (%d errors)' % (rate, errors))
        return None
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    last_done = start + max(r[0] + 0 for r in results) if results else end
    achieved = done / max(seconds, 1e-9)
    print('rate %4d/s for %ds: %d sent, %d ok (%.1f/s), %d errors; p50 %.1f ms, p99 %.1f ms, '
          'max %.1f ms; server RSS start %.1f MB, peak %.1f MB, end %.1f MB; server CPU %.1f ms '
          'per request sent'
          % (rate, seconds, n, done, achieved, errors, p(0.50), p(0.99), lat[-1],
             rss[0] / 1024, max(rss) / 1024, rss[-1] / 1024, 1000 * cpu / max(len(results), 1)))
    sys.stdout.flush()
    return p(0.99), errors


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    cookie, csrf = sys.argv[3], sys.argv[4]
    rate, seconds, form = float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
    r = asyncio.run(run(port, pid, cookie, csrf, rate, seconds, form))
    if r is None:
        sys.exit(2)
    p99, errors = r
    sys.exit(0 if p99 <= 100 and errors == 0 else 1)


if __name__ == '__main__':
    main()
