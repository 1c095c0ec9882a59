package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientExchanges: a request reaches the server as sent (method, path,
// headers, body) over kept-alive connections, and replies of every framing
// — Content-Length, chunked, no body, ending with the connection — read
// back whole.
func TestClientExchanges(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/echo":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, "%s", body)
		case "/chunked":
			f := w.(http.Flusher)
			for i := range 3 {
				fmt.Fprintf(w, "part%d;", i)
				f.Flush()
			}
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newClient(srv.URL, 2)
	ctx := context.Background()

	for i := range 5 {
		out, err := c.expect(ctx, call{method: "POST", path: "/echo", token: "tok", body: []byte(`{"a":1}`),
			header: map[string]string{"Idempotency-Key": fmt.Sprint("k", i)}}, http.StatusCreated)
		if err != nil || string(out.body) != `{"a":1}` {
			t.Fatalf("echo %d: %+v %v", i, out, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 sequential exchanges used %d connections, want 1", n)
	}
	out, err := c.do(ctx, call{method: "POST", path: "/echo", body: map[string]int{"b": 2}})
	if err != nil || out.status != http.StatusCreated || string(out.body) != `{"b":2}` {
		t.Errorf("JSON body: %+v %v", out, err)
	}
	if out, err := c.do(ctx, call{method: "GET", path: "/chunked"}); err != nil || string(out.body) != "part0;part1;part2;" {
		t.Errorf("chunked: %q %v", out.body, err)
	}
	if out, err := c.do(ctx, call{method: "DELETE", path: "/empty"}); err != nil || out.status != http.StatusNoContent || len(out.body) != 0 {
		t.Errorf("no content: %+v %v", out, err)
	}
	before := conns.Load()
	if out, err := c.do(ctx, call{method: "GET", path: "/close"}); err != nil || string(out.body) != "bye" {
		t.Errorf("close: %+v %v", out, err)
	}
	if out, err := c.do(ctx, call{method: "GET", path: "/chunked"}); err != nil || out.status != http.StatusOK {
		t.Errorf("after close: %+v %v", out, err)
	}
	if got := conns.Load() - before; got != 1 {
		t.Errorf("a reply with Connection: close was followed by %d new connections, want 1", got)
	}
	if _, err := c.expect(ctx, call{method: "GET", path: "/empty"}, http.StatusOK); err == nil {
		t.Error("expect accepted a status it was not given")
	}
}

// TestClientHeaderEcho: the server sees the method, bearer token, extra
// headers and the JSON content type.
func TestClientHeaderEcho(t *testing.T) {
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Method + "|" + r.Header.Get("Authorization") + "|" + r.Header.Get("Idempotency-Key") + "|" + r.Header.Get("Content-Type") + "|" + fmt.Sprint(r.ContentLength)
	}))
	defer srv.Close()
	c := newClient(srv.URL, 1)
	if _, err := c.do(context.Background(), call{method: "PATCH", path: "/x", token: "abc", body: []byte("{}"),
		header: map[string]string{"Idempotency-Key": "key-1"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := <-seen, "PATCH|Bearer abc|key-1|application/json|2"; got != want {
		t.Errorf("server saw %q, want %q", got, want)
	}
	if _, err := c.do(context.Background(), call{method: "GET", path: "/x", header: map[string]string{"X": "a\r\nEvil: 1"}}); err == nil {
		t.Error("a header value with a line break was sent")
	}
}

// TestClientReplacesStaleConnections: an exchange whose kept-alive
// connection the server closed while idle goes on to the next idle one,
// then to a new connection; one that fails on a new connection fails.
func TestClientReplacesStaleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	var firstTwo sync.WaitGroup
	firstTwo.Add(2)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer nc.Close() // after one reply at most
				if _, err := http.ReadRequest(bufio.NewReader(nc)); err != nil || n > 3 {
					return // the fourth and later close unanswered
				}
				if n <= 2 {
					firstTwo.Done()
					firstTwo.Wait() // two exchanges at once: two idle connections
				}
				io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(10 * time.Millisecond)
			}()
		}
	}()
	c := newClient("http://"+ln.Addr().String(), 1)
	get := func() (reply, error) { return c.do(context.Background(), call{method: "GET", path: "/"}) }
	var both sync.WaitGroup
	for range 2 {
		both.Go(func() {
			if _, err := get(); err != nil {
				t.Error(err)
			}
		})
	}
	both.Wait()
	time.Sleep(50 * time.Millisecond) // the server has closed both
	if out, err := get(); err != nil || string(out.body) != "ok" || accepted.Load() != 3 {
		t.Fatalf("past two stale connections: %q %v after %d connections, want ok after 3", out.body, err, accepted.Load())
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := get(); !errors.Is(err, errStale) || accepted.Load() != 4 {
		t.Fatalf("a new connection closed unanswered: %v after %d connections, want errStale after 4", err, accepted.Load())
	}
}

// TestClientKeepsAtMostMaxIdle: connections beyond maxIdle are closed once
// their exchange ends.
func TestClientKeepsAtMostMaxIdle(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(3)
	var closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		arrived.Wait() // three exchanges at once, on three connections
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newClient(srv.URL, 1) // maxIdle 2
	var done sync.WaitGroup
	for range 3 {
		done.Go(func() {
			if _, err := c.do(context.Background(), call{method: "GET", path: "/"}); err != nil {
				t.Error(err)
			}
		})
	}
	done.Wait()
	c.mu.Lock()
	idle := len(c.idle)
	c.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for closed.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if idle != 2 || closed.Load() != 1 {
		t.Errorf("%d idle connections kept and %d closed, want 2 and 1", idle, closed.Load())
	}
}

// TestClientCancelAndBadReplies: a cancelled context ends an exchange the
// server never answers; a reply that is not HTTP is an error.
func TestClientCancelAndBadReplies(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reply := make(chan string, 4)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				if _, err := http.ReadRequest(bufio.NewReader(nc)); err != nil {
					return
				}
				if r := <-reply; r != "" {
					io.WriteString(nc, r)
				}
				time.Sleep(time.Second)
			}()
		}
	}()
	c := newClient("http://"+ln.Addr().String(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	reply <- ""
	start := time.Now()
	if _, err := c.do(ctx, call{method: "GET", path: "/"}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 900*time.Millisecond {
		t.Errorf("unanswered exchange: %v after %v", err, time.Since(start))
	}
	for _, bad := range []string{"SSH-2.0-OpenSSH\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"} {
		reply <- bad
		if _, err := c.do(context.Background(), call{method: "GET", path: "/"}); err == nil || errors.Is(err, errStale) {
			t.Errorf("%q: %v, want an error", strings.TrimSpace(bad), err)
		}
	}
}
