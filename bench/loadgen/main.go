// Command loadgen is replica-api's load generator: HTTP/1.1 over TLS 1.3 with a
// client certificate (mTLS), keep-alive or a new connection per request,
// closed-loop (N connections as fast as they can) or open-loop at a fixed rate.
//
// It speaks HTTP/1.1 itself on top of crypto/tls (pre-serialised requests, a
// minimal response parser) so that the client costs far less CPU per request
// than the server under test: on a 2-core machine a net/http client would be
// a bottleneck of its own.
//
// Output: one JSON object on stdout (or -json FILE) and one human line on
// stderr. With -interval, one JSON line per interval on stderr as well.
//
// Examples:
//
//	loadgen -cert c.crt -key c.key -cacert ca.crt -c 16 -d 10s https://127.0.0.1:8443/api/v1/health
//	loadgen ... -rate 5000 -d 60s -interval 10s URL          open loop, 5000 req/s
//	loadgen ... -new-conn -c 8 -d 10s URL                    a new TLS connection per request
//	loadgen ... -n 50 -c 1 URL                                exactly 50 measured requests
//	loadgen ... -abuse idle-tls -c 500 -d 30s URL             hold 500 idle TLS connections
//	loadgen ... -laddr 127.0.0.2,127.0.0.3 ...                dial from these local addresses, round-robin
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ---------------------------------------------------------------- histogram

// histogram is a log-linear histogram of nanosecond values with 128 sub-buckets
// per power of two (relative error below 0.8%), like HdrHistogram.
type histogram struct {
	counts []uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

const subBits = 7
const subCount = 1 << subBits // 128

func newHistogram() *histogram {
	return &histogram{counts: make([]uint64, 64*subCount), min: math.MaxInt64}
}

func bucketOf(v int64) int {
	if v < 2*subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - (subBits + 1) // >= 1
	m := int(v >> uint(e))                     // in [128, 256)
	return 2*subCount + (e-1)*subCount + (m - subCount)
}

// valueOf is the midpoint of bucket i.
func valueOf(i int) float64 {
	if i < 2*subCount {
		return float64(i)
	}
	e := (i-2*subCount)/subCount + 1
	m := (i-2*subCount)%subCount + subCount
	lo := float64(int64(m) << uint(e))
	return lo + float64(int64(1)<<uint(e))/2
}

func (h *histogram) record(v int64) {
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
}

func (h *histogram) reset() {
	clear(h.counts)
	h.n, h.sum, h.min, h.max = 0, 0, math.MaxInt64, 0
}

// quantile in nanoseconds (q in [0,1]); exact for min and max.
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return float64(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := valueOf(i)
			return math.Max(float64(h.min), math.Min(v, float64(h.max)))
		}
	}
	return float64(h.max)
}

type latencySummary struct {
	Count uint64  `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

func ms(ns float64) float64 { return math.Round(ns/1e3) / 1e3 } // ns -> ms, 3 decimals (µs)

func (h *histogram) summary() *latencySummary {
	if h.n == 0 {
		return &latencySummary{}
	}
	return &latencySummary{
		Count: h.n, Min: ms(float64(h.min)), Mean: ms(h.sum / float64(h.n)),
		P50: ms(h.quantile(0.50)), P90: ms(h.quantile(0.90)), P99: ms(h.quantile(0.99)),
		P999: ms(h.quantile(0.999)), Max: ms(float64(h.max)),
	}
}

// ---------------------------------------------------------------- configuration

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

type config struct {
	urls       []string
	method     string
	body       string
	headers    multiFlag
	cert, key  string
	cacert     string
	serverName string
	conns      int
	duration   time.Duration
	warmup     time.Duration
	total      int
	warmupN    int
	rate       float64
	newConn    bool
	resume     bool
	timeout    time.Duration
	expect     int
	interval   time.Duration
	label      string
	jsonOut    string
	abuse      string
	abuseBytes int
	redial     bool
	laddrs     []*net.TCPAddr
}

func parseFlags() *config {
	c := &config{}
	var urlFlags multiFlag
	flag.Var(&urlFlags, "url", "target URL (repeatable; requests go round-robin; positional arguments are URLs too)")
	flag.StringVar(&c.method, "method", "GET", "HTTP method")
	flag.StringVar(&c.body, "body", "", "request body (sent with Content-Type: application/json)")
	flag.Var(&c.headers, "H", "extra request header 'Name: value' (repeatable)")
	flag.StringVar(&c.cert, "cert", "", "client certificate (PEM)")
	flag.StringVar(&c.key, "key", "", "client private key (PEM)")
	flag.StringVar(&c.cacert, "cacert", "", "CA bundle that verifies the server (PEM)")
	flag.StringVar(&c.serverName, "server-name", "", "TLS server name (default: the URL's host)")
	flag.IntVar(&c.conns, "c", 16, "connections (= concurrent workers)")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "measured duration (with -n: an upper bound)")
	flag.DurationVar(&c.warmup, "warmup", time.Second, "warm-up before measuring (not recorded)")
	flag.IntVar(&c.total, "n", 0, "stop after this many measured requests (0: run for -d)")
	flag.IntVar(&c.warmupN, "warmup-n", 0, "with -n: unrecorded requests first (replaces -warmup)")
	flag.Float64Var(&c.rate, "rate", 0, "open loop: send at this many requests/s, latency measured from the intended send time (0: closed loop)")
	flag.BoolVar(&c.newConn, "new-conn", false, "a new TLS connection (full handshake) for every request")
	flag.BoolVar(&c.resume, "resume", false, "with -new-conn: allow TLS session resumption")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout (including connect and handshake)")
	flag.IntVar(&c.expect, "expect", 200, "status that counts as success (0: any 2xx or 3xx)")
	flag.DurationVar(&c.interval, "interval", 0, "print per-interval stats to stderr (0: off)")
	flag.StringVar(&c.label, "label", "", "name for the human-readable line and the JSON")
	flag.StringVar(&c.jsonOut, "json", "", "write the JSON result to this file instead of stdout")
	flag.StringVar(&c.abuse, "abuse", "", "misbehave instead of measuring: idle-tls, idle-tcp, half-request, half-handshake, garbage-tcp, garbage-http, no-cert (-c holders; -rate caps new connections/s for the looping kinds)")
	flag.IntVar(&c.abuseBytes, "abuse-bytes", 2048, "bytes of garbage per connection for garbage-*")
	flag.BoolVar(&c.redial, "abuse-redial", false, "idle-*/half-*: open a new connection whenever the server closes one (default: each holder opens once)")
	laddr := flag.String("laddr", "", "local IP address(es) to dial from, comma-separated, used round-robin (a server sees each as another client host; on Linux all of 127.0.0.0/8 is loopback)")
	flag.Parse()
	c.laddrs = parseLocalAddrs(*laddr)
	c.urls = append(urlFlags, flag.Args()...)
	if len(c.urls) == 0 {
		fatalf("no URL given")
	}
	if c.conns < 1 {
		fatalf("-c must be at least 1")
	}
	return c
}

// parseLocalAddrs reads -laddr: empty means "let the kernel choose".
func parseLocalAddrs(list string) []*net.TCPAddr {
	var out []*net.TCPAddr
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ip := net.ParseIP(part)
		if ip == nil {
			fatalf("-laddr: %q is not an IP address", part)
		}
		out = append(out, &net.TCPAddr{IP: ip})
	}
	return out
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}

// ---------------------------------------------------------------- connections

type target struct {
	addr    string
	request []byte
	head    bool
}

type clientConn struct {
	nc   net.Conn
	br   *bufio.Reader
	used int
}

func (c *clientConn) close() { _ = c.nc.Close() }

// errNoResponse marks a failure before any byte of the response arrived.
type errNoResponse struct{ err error }

func (e errNoResponse) Error() string { return e.err.Error() }
func (e errNoResponse) Unwrap() error { return e.err }

type responseInfo struct {
	status     int
	bytes      int64
	closeAfter bool
}

var errMalformed = errors.New("malformed response")

// roundTrip writes a pre-serialised request and reads one response.
func (c *clientConn) roundTrip(t *target) (responseInfo, error) {
	var r responseInfo
	if _, err := c.nc.Write(t.request); err != nil {
		return r, errNoResponse{err}
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 {
			return r, errNoResponse{err}
		}
		return r, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return r, errMalformed
	}
	r.status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return r, errMalformed
	}
	r.bytes += int64(len(line))
	contentLength := int64(-1)
	chunked := false
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return r, err
		}
		r.bytes += int64(len(line))
		if len(line) <= 2 {
			break
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			return r, errMalformed
		}
		name, value := line[:i], bytes.TrimSpace(line[i+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			contentLength, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return r, errMalformed
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case asciiEqualFold(name, "connection"):
			r.closeAfter = bytes.Contains(bytes.ToLower(value), []byte("close"))
		}
	}
	if t.head || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200) {
		return r, nil
	}
	switch {
	case chunked:
		for {
			line, err = c.br.ReadSlice('\n')
			if err != nil {
				return r, err
			}
			s := string(bytes.TrimSpace(line))
			if i := strings.IndexByte(s, ';'); i >= 0 {
				s = s[:i]
			}
			size, perr := strconv.ParseInt(s, 16, 64)
			if perr != nil {
				return r, errMalformed
			}
			if size == 0 {
				for { // trailers
					line, err = c.br.ReadSlice('\n')
					if err != nil {
						return r, err
					}
					if len(line) <= 2 {
						return r, nil
					}
				}
			}
			n, err := c.br.Discard(int(size) + 2)
			r.bytes += int64(n)
			if err != nil {
				return r, err
			}
		}
	case contentLength >= 0:
		n, err := c.br.Discard(int(contentLength))
		r.bytes += int64(n)
		return r, err
	default: // body until the connection closes
		n, err := io.Copy(io.Discard, c.br)
		r.bytes += n
		r.closeAfter = true
		return r, err
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// classify names an error kind for the report.
func classify(stage string, err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return stage + "_timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return stage + "_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return stage + "_reset"
	case errors.Is(err, syscall.EPIPE):
		return stage + "_broken_pipe"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return stage + "_eof"
	case errors.Is(err, errMalformed):
		return "malformed_response"
	case strings.Contains(err.Error(), "tls:"):
		return stage + "_tls_alert"
	default:
		return stage + "_error"
	}
}

// ---------------------------------------------------------------- generator

type worker struct {
	mu         sync.Mutex
	hist       *histogram // measured latencies
	ihist      *histogram // this interval's latencies
	hs         *histogram // connect + handshake durations (measured phase)
	errs       map[string]uint64
	ierrs      uint64
	status     map[int]uint64
	bytes      int64
	reconnects uint64
	conn       *clientConn
}

type gen struct {
	cfg          *config
	tlsConf      *tls.Config
	targets      []*target
	start        time.Time
	measureStart time.Time
	end          time.Time
	workers      []*worker
	measured     atomic.Int64 // requests started in the measured phase (for -n)
	warmed       atomic.Int64 // warm-up requests started (for -warmup-n)
	dropped      atomic.Uint64
	rr           atomic.Uint64
	laddrRR      atomic.Uint64
	intervals    []map[string]any
}

func loadTLS(c *config, withCert bool) *tls.Config {
	conf := &tls.Config{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13}
	if c.cacert != "" {
		pem, err := os.ReadFile(c.cacert)
		if err != nil {
			fatalf("reading -cacert: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fatalf("-cacert %s holds no certificate", c.cacert)
		}
		conf.RootCAs = pool
	}
	if withCert && c.cert != "" {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			fatalf("loading -cert/-key: %v", err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	if c.serverName != "" {
		conf.ServerName = c.serverName
	}
	if c.resume || !c.newConn {
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	}
	return conf
}

func buildTargets(c *config) []*target {
	var out []*target
	var host string
	for _, raw := range c.urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			fatalf("bad URL %q: want https://host:port/path", raw)
		}
		if host != "" && u.Host != host {
			fatalf("all URLs must have the same host:port (%s vs %s)", host, u.Host)
		}
		host = u.Host
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		}
		if c.serverName == "" {
			c.serverName = u.Hostname()
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: replica-api-loadgen\r\n", c.method, u.RequestURI(), u.Host)
		if c.newConn {
			b.WriteString("Connection: close\r\n")
		}
		for _, h := range c.headers {
			b.WriteString(h)
			b.WriteString("\r\n")
		}
		if c.body != "" || c.method == "PUT" || c.method == "POST" || c.method == "PATCH" {
			fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(c.body))
		}
		b.WriteString("\r\n")
		b.WriteString(c.body)
		out = append(out, &target{addr: addr, request: []byte(b.String()), head: c.method == "HEAD"})
	}
	return out
}

// localAddr is the next -laddr address (round-robin), or nil for the kernel's choice.
func (g *gen) localAddr() net.Addr {
	if len(g.cfg.laddrs) == 0 {
		return nil
	}
	return g.cfg.laddrs[g.laddrRR.Add(1)%uint64(len(g.cfg.laddrs))]
}

func (g *gen) dial(deadline time.Time) (*clientConn, time.Duration, string, error) {
	t0 := time.Now()
	d := net.Dialer{Deadline: deadline, LocalAddr: g.localAddr()}
	raw, err := d.Dial("tcp", g.targets[0].addr)
	if err != nil {
		return nil, 0, classify("connect", err), err
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	tc := tls.Client(raw, g.tlsConf)
	_ = tc.SetDeadline(deadline)
	if err := tc.Handshake(); err != nil {
		_ = raw.Close()
		return nil, 0, classify("handshake", err), err
	}
	return &clientConn{nc: tc, br: bufio.NewReaderSize(tc, 32<<10)}, time.Since(t0), "", nil
}

// one performs one request on the worker's connection (dialling when needed).
// A keep-alive connection the server closed while idle is retried once on a
// new connection, as HTTP clients do for idempotent requests.
func (g *gen) one(w *worker, t *target, measured bool) (int, string) {
	deadline := time.Now().Add(g.cfg.timeout)
	for attempt := 0; ; attempt++ {
		if w.conn == nil {
			c, hsDur, kind, _ := g.dial(deadline)
			if c == nil {
				return 0, kind
			}
			w.conn = c
			if measured {
				w.mu.Lock()
				w.hs.record(int64(hsDur))
				w.mu.Unlock()
			}
		}
		c := w.conn
		_ = c.nc.SetDeadline(deadline)
		info, err := c.roundTrip(t)
		if err != nil {
			reused := c.used > 0
			c.close()
			w.conn = nil
			var nr errNoResponse
			if reused && attempt == 0 && errors.As(err, &nr) && !isTimeout(err) {
				w.mu.Lock()
				w.reconnects++
				w.mu.Unlock()
				continue
			}
			return 0, classify("read", err)
		}
		c.used++
		w.mu.Lock()
		w.bytes += info.bytes
		w.mu.Unlock()
		if info.closeAfter || g.cfg.newConn {
			c.close()
			w.conn = nil
		}
		if g.cfg.expect == 0 {
			if info.status < 200 || info.status >= 400 {
				return info.status, "status_" + strconv.Itoa(info.status)
			}
		} else if info.status != g.cfg.expect {
			return info.status, "status_" + strconv.Itoa(info.status)
		}
		return info.status, ""
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (g *gen) record(w *worker, lat time.Duration, status int, kind string) {
	w.mu.Lock()
	if status != 0 {
		w.status[status]++
	}
	if kind != "" {
		w.errs[kind]++
		w.ierrs++
	} else {
		w.hist.record(int64(lat))
		w.ihist.record(int64(lat))
	}
	w.mu.Unlock()
}

func (g *gen) nextTarget() *target {
	if len(g.targets) == 1 {
		return g.targets[0]
	}
	return g.targets[int(g.rr.Add(1)-1)%len(g.targets)]
}

// inMeasurement says whether a request starting now is measured, warm-up, or past the end.
func (g *gen) phase(now time.Time) (measured bool, done bool) {
	if now.After(g.end) {
		return false, true
	}
	if g.cfg.total > 0 {
		if g.warmed.Add(1) <= int64(g.cfg.warmupN) {
			return false, false
		}
		n := g.measured.Add(1)
		return true, n > int64(g.cfg.total)
	}
	return !now.Before(g.measureStart), false
}

func (g *gen) runClosed(w *worker) {
	for {
		t0 := time.Now()
		measured, done := g.phase(t0)
		if done {
			return
		}
		status, kind := g.one(w, g.nextTarget(), measured)
		if measured {
			g.record(w, time.Since(t0), status, kind)
		}
	}
}

func (g *gen) runOpen(w *worker, tickets <-chan time.Time) {
	for intended := range tickets {
		measured := !intended.Before(g.measureStart)
		if time.Since(intended) > g.cfg.timeout {
			// The backlog is older than the timeout: the server has stalled; do not pile on.
			if measured {
				g.record(w, 0, 0, "queue_timeout")
			}
			continue
		}
		status, kind := g.one(w, g.nextTarget(), measured)
		if measured {
			g.record(w, time.Since(intended), status, kind)
		}
	}
}

func (g *gen) dispatch(tickets chan<- time.Time) {
	defer close(tickets)
	interval := float64(time.Second) / g.cfg.rate
	for i := 0; ; i++ {
		intended := g.start.Add(time.Duration(float64(i) * interval))
		if intended.After(g.end) {
			return
		}
		if d := time.Until(intended); d > 0 {
			time.Sleep(d)
		}
		select {
		case tickets <- intended:
		default:
			g.dropped.Add(1)
		}
	}
}

func (g *gen) reportIntervals(stop <-chan struct{}) {
	tick := time.NewTicker(g.cfg.interval)
	defer tick.Stop()
	agg := newHistogram()
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			agg.reset()
			var errs uint64
			for _, w := range g.workers {
				w.mu.Lock()
				agg.merge(w.ihist)
				w.ihist.reset()
				errs += w.ierrs
				w.ierrs = 0
				w.mu.Unlock()
			}
			secs := now.Sub(last).Seconds()
			last = now
			s := agg.summary()
			rec := map[string]any{
				"t": math.Round(now.Sub(g.start).Seconds()*10) / 10, "rps": math.Round(float64(agg.n) / secs),
				"ok": agg.n, "errors": errs, "p50": s.P50, "p99": s.P99, "max": s.Max,
			}
			g.intervals = append(g.intervals, rec)
			line, _ := json.Marshal(rec)
			fmt.Fprintf(os.Stderr, "interval %s %s\n", g.cfg.label, line)
		}
	}
}

type result struct {
	Label       string             `json:"label"`
	URL         string             `json:"url"`
	Method      string             `json:"method"`
	Mode        string             `json:"mode"`
	Connections int                `json:"connections"`
	TargetRate  float64            `json:"target_rate,omitempty"`
	DurationS   float64            `json:"duration_s"`
	Requests    uint64             `json:"requests"`
	OK          uint64             `json:"ok"`
	ErrorCount  uint64             `json:"error_count"`
	Errors      map[string]uint64  `json:"errors"`
	Status      map[string]uint64  `json:"status"`
	RPS         float64            `json:"rps"`
	Latency     *latencySummary    `json:"latency_ms"`
	Handshake   *latencySummary    `json:"connect_handshake_ms,omitempty"`
	Reconnects  uint64             `json:"reconnects"`
	BytesRead   int64              `json:"bytes_read"`
	Dropped     uint64             `json:"dropped,omitempty"`
	Intervals   []map[string]any   `json:"intervals,omitempty"`
	Abuse       map[string]any     `json:"abuse,omitempty"`
	Extra       map[string]float64 `json:"extra,omitempty"`
}

func main() {
	cfg := parseFlags()
	g := &gen{cfg: cfg}
	g.targets = buildTargets(cfg)
	if cfg.abuse != "" {
		runAbuse(g)
		return
	}
	g.tlsConf = loadTLS(cfg, true)
	for i := 0; i < cfg.conns; i++ {
		g.workers = append(g.workers, &worker{
			hist: newHistogram(), ihist: newHistogram(), hs: newHistogram(),
			errs: map[string]uint64{}, status: map[int]uint64{},
		})
	}
	g.start = time.Now()
	if cfg.total > 0 {
		g.measureStart = g.start
		g.end = g.start.Add(cfg.duration)
	} else {
		g.measureStart = g.start.Add(cfg.warmup)
		g.end = g.measureStart.Add(cfg.duration)
	}
	stopIntervals := make(chan struct{})
	if cfg.interval > 0 {
		go g.reportIntervals(stopIntervals)
	}
	var wg sync.WaitGroup
	var tickets chan time.Time
	if cfg.rate > 0 {
		tickets = make(chan time.Time, 1<<20)
		go g.dispatch(tickets)
	}
	for _, w := range g.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tickets != nil {
				g.runOpen(w, tickets)
			} else {
				g.runClosed(w)
			}
			if w.conn != nil {
				w.conn.close()
			}
		}()
	}
	wg.Wait()
	finished := time.Now()
	close(stopIntervals)

	total := newHistogram()
	hs := newHistogram()
	res := &result{
		Label: cfg.label, URL: strings.Join(cfg.urls, " "), Method: cfg.method, Connections: cfg.conns,
		TargetRate: cfg.rate, Errors: map[string]uint64{}, Status: map[string]uint64{}, Dropped: g.dropped.Load(),
		Intervals: g.intervals,
	}
	for _, w := range g.workers {
		total.merge(w.hist)
		hs.merge(w.hs)
		for k, v := range w.errs {
			res.Errors[k] += v
			res.ErrorCount += v
		}
		for k, v := range w.status {
			res.Status[strconv.Itoa(k)] += v
		}
		res.BytesRead += w.bytes
		res.Reconnects += w.reconnects
	}
	res.ErrorCount += res.Dropped
	if res.Dropped > 0 {
		res.Errors["dropped_backlog_full"] = res.Dropped
	}
	measuredFor := cfg.duration
	if cfg.total > 0 {
		measuredFor = finished.Sub(g.measureStart)
	} else if finished.Before(g.end) {
		measuredFor = finished.Sub(g.measureStart)
	}
	res.DurationS = math.Round(measuredFor.Seconds()*1000) / 1000
	res.OK = total.n
	res.Requests = total.n + res.ErrorCount
	res.RPS = math.Round(float64(total.n) / measuredFor.Seconds())
	res.Latency = total.summary()
	switch {
	case cfg.rate > 0:
		res.Mode = "open-loop"
	case cfg.newConn:
		res.Mode = "new-connection-per-request"
	default:
		res.Mode = "closed-loop keep-alive"
	}
	if cfg.newConn || hs.n > 0 {
		res.Handshake = hs.summary()
	}
	emit(cfg, res)
}

func emit(cfg *config, res *result) {
	out, _ := json.MarshalIndent(res, "", "  ")
	if cfg.jsonOut != "" {
		if err := os.WriteFile(cfg.jsonOut, append(out, '\n'), 0o644); err != nil {
			fatalf("writing %s: %v", cfg.jsonOut, err)
		}
	} else {
		fmt.Println(string(out))
	}
	label := cfg.label
	if label == "" {
		label = cfg.urls[0]
	}
	if res.Abuse != nil {
		b, _ := json.Marshal(res.Abuse)
		fmt.Fprintf(os.Stderr, "%s: abuse %s %s\n", label, cfg.abuse, b)
		return
	}
	errs := "0"
	if res.ErrorCount > 0 {
		var parts []string
		for k, v := range res.Errors {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(parts)
		errs = fmt.Sprintf("%d (%s)", res.ErrorCount, strings.Join(parts, " "))
	}
	l := res.Latency
	fmt.Fprintf(os.Stderr, "%s: %.0f req/s  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  errors %s  [%s, %d conns, %.1f s]\n",
		label, res.RPS, l.P50, l.P90, l.P99, l.Max, errs, res.Mode, res.Connections, res.DurationS)
}

// ---------------------------------------------------------------- abuse

func waitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

// runAbuse misbehaves for -d with -c holders. Idle and half-open kinds keep their
// connections open until the server closes them (with -abuse-redial they open a new
// one then); the garbage and no-cert kinds loop, capped at -rate new connections per
// second in total.
func runAbuse(g *gen) {
	cfg := g.cfg
	kind := cfg.abuse
	switch kind {
	case "idle-tls", "idle-tcp", "half-request", "half-handshake", "garbage-tcp", "garbage-http", "no-cert":
	default:
		fatalf("unknown -abuse %q", kind)
	}
	g.tlsConf = loadTLS(cfg, kind != "no-cert")
	g.tlsConf.ClientSessionCache = nil
	var opened, closedByServer, cycles, responses atomic.Uint64
	var firstCloseNs atomic.Int64
	var mu sync.Mutex
	errs := map[string]uint64{}
	addErr := func(k string) { mu.Lock(); errs[k]++; mu.Unlock() }
	start := time.Now()
	end := start.Add(cfg.duration)
	var limiter <-chan time.Time
	if cfg.rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.rate))
		defer t.Stop()
		limiter = t.C
	}
	garbage := func() []byte {
		b := make([]byte, cfg.abuseBytes)
		_, _ = rand.Read(b)
		return b
	}
	// hold keeps conn open until the end or until the server closes it (counted).
	hold := func(conn net.Conn) {
		_ = conn.SetReadDeadline(end)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if n > 0 {
				responses.Add(1)
			}
			if err != nil {
				if !isTimeout(err) {
					closedByServer.Add(1)
					firstCloseNs.CompareAndSwap(0, int64(time.Since(start)))
				}
				return
			}
		}
	}
	dialTCP := func() (net.Conn, error) {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: g.localAddr()}
		return d.Dial("tcp", g.targets[0].addr)
	}
	dialTLS := func() (*tls.Conn, error) {
		raw, err := dialTCP()
		if err != nil {
			addErr(classify("connect", err))
			return nil, err
		}
		tc := tls.Client(raw, g.tlsConf)
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			addErr(classify("handshake", err))
			_ = raw.Close()
			return nil, err
		}
		_ = tc.SetDeadline(time.Time{})
		return tc, nil
	}
	partialHello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03} // record + ClientHello header, then nothing
	var wg sync.WaitGroup
	for i := 0; i < cfg.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				if limiter != nil {
					select {
					case <-limiter:
					case <-time.After(time.Until(end)):
						return
					}
				}
				switch kind {
				case "idle-tls", "half-request":
					tc, err := dialTLS()
					if err != nil {
						time.Sleep(100 * time.Millisecond)
						continue
					}
					opened.Add(1)
					if kind == "half-request" {
						_, _ = tc.Write([]byte("GET /api/v1/deployments HTTP/1.1\r\nHost: localhost\r\nX-Slow: "))
					}
					hold(tc)
					_ = tc.Close()
					if !cfg.redial {
						waitUntil(end)
						return
					}
				case "idle-tcp", "half-handshake":
					c, err := dialTCP()
					if err != nil {
						addErr(classify("connect", err))
						time.Sleep(100 * time.Millisecond)
						continue
					}
					opened.Add(1)
					if kind == "half-handshake" {
						_, _ = c.Write(partialHello)
					}
					hold(c)
					_ = c.Close()
					if !cfg.redial {
						waitUntil(end)
						return
					}
				case "garbage-tcp":
					c, err := dialTCP()
					if err != nil {
						addErr(classify("connect", err))
						time.Sleep(10 * time.Millisecond)
						continue
					}
					opened.Add(1)
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					_, _ = c.Write(garbage())
					n, _ := io.Copy(io.Discard, c)
					if n > 0 {
						responses.Add(1)
					}
					cycles.Add(1)
					_ = c.Close()
				case "garbage-http":
					tc, err := dialTLS()
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					opened.Add(1)
					_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
					b := garbage()
					b = append(b, "\r\n\r\n"...)
					_, _ = tc.Write(b)
					n, _ := io.Copy(io.Discard, tc)
					if n > 0 {
						responses.Add(1)
					}
					cycles.Add(1)
					_ = tc.Close()
				case "no-cert":
					tc, err := dialTLS() // TLS 1.3: the client finishes first, the refusal arrives on read
					if err != nil {
						cycles.Add(1)
						continue
					}
					opened.Add(1)
					_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
					_, _ = tc.Write(g.targets[0].request)
					_, rerr := io.Copy(io.Discard, tc)
					if rerr != nil {
						addErr(classify("read", rerr))
					}
					cycles.Add(1)
					_ = tc.Close()
				}
			}
		}()
	}
	wg.Wait()
	res := &result{Label: cfg.label, URL: cfg.urls[0], Mode: "abuse", Connections: cfg.conns, Errors: errs,
		DurationS: math.Round(time.Since(start).Seconds()*1000) / 1000, Latency: &latencySummary{}, Status: map[string]uint64{}}
	abuse := map[string]any{
		"kind": kind, "holders": cfg.conns, "opened": opened.Load(), "closed_by_server": closedByServer.Load(),
		"cycles": cycles.Load(), "connections_with_response_bytes": responses.Load(),
	}
	if ns := firstCloseNs.Load(); ns > 0 {
		abuse["first_server_close_s"] = math.Round(float64(ns)/1e6) / 1e3
	}
	res.Abuse = abuse
	emit(cfg, res)
}
