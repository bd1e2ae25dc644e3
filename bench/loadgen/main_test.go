package main

import (
	"bufio"
	"math"
	"net"
	"testing"
)

func TestHistogramQuantiles(t *testing.T) {
	h := newHistogram()
	for v := int64(1); v <= 1_000_000; v++ {
		h.record(v * 1000) // 1 µs .. 1 s
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 500e6}, {0.9, 900e6}, {0.99, 990e6}} {
		got := h.quantile(c.q)
		if math.Abs(got-c.want)/c.want > 0.01 {
			t.Errorf("q%.2f = %.0f, want %.0f ±1%%", c.q, got, c.want)
		}
	}
	if h.quantile(1) != 1e9 || h.min != 1000 {
		t.Errorf("max %v min %v", h.quantile(1), h.min)
	}
	o := newHistogram()
	o.record(5)
	h.merge(o)
	if h.n != 1_000_001 || h.min != 5 {
		t.Errorf("merge: n %d min %d", h.n, h.min)
	}
}

func TestBucketsMonotonic(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<22; v += 7 {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", v, b, prev)
		}
		if mid := valueOf(b); v >= 256 && math.Abs(mid-float64(v))/float64(v) > 0.01 {
			t.Fatalf("valueOf(bucketOf(%d)) = %v", v, mid)
		}
		prev = b
	}
	if bucketOf(math.MaxInt64) >= 64*subCount {
		t.Fatal("largest value out of range")
	}
}

func roundTripOver(t *testing.T, response string, head bool) (responseInfo, error) {
	t.Helper()
	client, server := net.Pipe()
	go func() {
		buf := make([]byte, 4096)
		_, _ = server.Read(buf)
		_, _ = server.Write([]byte(response))
		_ = server.Close()
	}()
	c := &clientConn{nc: client, br: bufio.NewReader(client)}
	return c.roundTrip(&target{request: []byte("GET / HTTP/1.1\r\n\r\n"), head: head})
}

func TestRoundTripFraming(t *testing.T) {
	r, err := roundTripOver(t, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false)
	if err != nil || r.status != 200 || r.closeAfter {
		t.Fatalf("content-length: %+v %v", r, err)
	}
	r, err = roundTripOver(t, "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: v\r\n\r\n", false)
	if err != nil || r.status != 404 || !r.closeAfter {
		t.Fatalf("chunked: %+v %v", r, err)
	}
	r, err = roundTripOver(t, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true)
	if err != nil || r.status != 200 {
		t.Fatalf("HEAD: %+v %v", r, err)
	}
	_, err = roundTripOver(t, "garbage\r\n\r\n", false)
	if err != errMalformed {
		t.Fatalf("garbage: %v", err)
	}
	_, err = roundTripOver(t, "", false)
	if _, ok := err.(errNoResponse); !ok {
		t.Fatalf("closed before a response: %T %v", err, err)
	}
}

func TestLocalAddrsAreUsedRoundRobin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	g := &gen{cfg: &config{laddrs: parseLocalAddrs("127.0.0.2, 127.0.0.3")}}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		d := net.Dialer{LocalAddr: g.localAddr()}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		host, _, _ := net.SplitHostPort(s.RemoteAddr().String())
		seen[host]++
		_ = s.Close()
		_ = c.Close()
	}
	if seen["127.0.0.2"] != 2 || seen["127.0.0.3"] != 2 {
		t.Fatalf("the server saw %v, want two connections from each -laddr address", seen)
	}
	if (&gen{cfg: &config{}}).localAddr() != nil {
		t.Fatal("without -laddr the kernel must choose")
	}
}
