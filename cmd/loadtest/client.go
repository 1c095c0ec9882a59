package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// client is the simulated users' HTTP/1.1 client: keep-alive connections
// to the server under test, one exchange at a time on each, taken from and
// returned to an idle pool.
//
// It is written for the load tool rather than using net/http's client
// because the simulated users share the server's two cores: net/http's
// Transport hands every exchange between the caller and a reader and a
// writer goroutine per connection, and that CPU was taken from the server
// under test (a resident's phone spends none of it). It speaks only what
// the tool needs: requests with a Content-Length, replies with a
// Content-Length, chunked or ending with the connection.
type client struct {
	addr, host string
	timeout    time.Duration
	maxIdle    int

	mu   sync.Mutex
	idle []*httpConn
}

// httpConn is one connection and its read buffer.
type httpConn struct {
	nc  net.Conn
	r   *bufio.Reader
	buf []byte
}

// exchangeTimeout bounds one exchange, connecting included.
const exchangeTimeout = 10 * time.Second

func newClient(base string, concurrency int) *client {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		panic(fmt.Sprintf("loadtest: server URL %q: want http://host:port", base))
	}
	return &client{addr: u.Host, host: u.Host, timeout: exchangeTimeout, maxIdle: 2 * concurrency}
}

// call is one HTTP exchange.
type call struct {
	method, path, token string
	// body is sent as JSON; a []byte is sent as it is (encoded ahead).
	body   any
	header map[string]string
}

// reply is the status and body of a finished exchange.
type reply struct {
	status int
	body   []byte
}

// errStale is an exchange whose connection the server closed before any
// byte of a reply: on a kept-alive connection, one it closed while idle,
// which do replaces with the next idle one or a new one.
var errStale = errors.New("loadtest: connection closed by the server before any reply")

func (c *client) do(ctx context.Context, r call) (reply, error) {
	if err := checkFields(r); err != nil {
		return reply{}, err
	}
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		body = raw
	}
	for {
		hc, reused, err := c.conn(ctx)
		if err != nil {
			return reply{}, err
		}
		out, keep, err := c.exchange(ctx, hc, r, body)
		if err == nil && keep {
			c.put(hc)
		} else {
			hc.nc.Close()
		}
		if errors.Is(err, errStale) && reused {
			continue // the next idle connection, or at last a new one
		}
		if err != nil && ctx.Err() != nil {
			return out, fmt.Errorf("%s %s: %w", r.method, r.path, ctx.Err())
		}
		return out, err
	}
}

// conn takes an idle connection, or dials one.
func (c *client) conn(ctx context.Context) (*httpConn, bool, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		hc := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return hc, true, nil
	}
	c.mu.Unlock()
	d := net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, false, err
	}
	return &httpConn{nc: nc, r: bufio.NewReaderSize(nc, 16<<10)}, false, nil
}

// put keeps a connection for the next exchange, or closes it past maxIdle.
func (c *client) put(hc *httpConn) {
	c.mu.Lock()
	if len(c.idle) < c.maxIdle {
		c.idle = append(c.idle, hc)
		hc = nil
	}
	c.mu.Unlock()
	if hc != nil {
		hc.nc.Close()
	}
}

// exchange sends r on hc and reads the reply; keep reports whether hc may
// carry another exchange.
func (c *client) exchange(ctx context.Context, hc *httpConn, r call, body []byte) (out reply, keep bool, err error) {
	if err := hc.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return out, false, err
	}
	// ctx's end (its deadline too) cuts the exchange short; do then
	// reports ctx's error.
	stop := context.AfterFunc(ctx, func() { _ = hc.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	b := hc.buf[:0]
	b = append(append(append(append(b, r.method...), ' '), r.path...), " HTTP/1.1\r\nHost: "...)
	b = append(append(b, c.host...), "\r\n"...)
	if r.token != "" {
		b = appendHeader(b, "Authorization", "Bearer "+r.token)
	}
	if body != nil {
		b = appendHeader(b, "Content-Type", "application/json")
	}
	for k, v := range r.header {
		b = appendHeader(b, k, v)
	}
	if body != nil || r.method == "POST" || r.method == "PUT" || r.method == "PATCH" {
		b = append(strconv.AppendInt(append(b, "Content-Length: "...), int64(len(body)), 10), "\r\n"...)
	}
	b = append(append(b, "\r\n"...), body...)
	hc.buf = b
	if _, err := hc.nc.Write(b); err != nil {
		if isReset(err) {
			err = errStale
		}
		return out, false, err
	}
	return readReply(hc.r, r.method)
}

// checkFields refuses a request whose fields would break its head: a
// space in the method or path, a line break anywhere.
func checkFields(r call) error {
	bad := strings.ContainsAny(r.method, " \r\n") || strings.ContainsAny(r.path, " \r\n") || strings.ContainsAny(r.token, "\r\n")
	for k, v := range r.header {
		bad = bad || strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(v, "\r\n")
	}
	if bad {
		return fmt.Errorf("loadtest: request %s %q: a field would break the request head", r.method, r.path)
	}
	return nil
}

func appendHeader(b []byte, name, value string) []byte {
	return append(append(append(append(b, name...), ": "...), value...), "\r\n"...)
}

// readReply reads one HTTP/1.1 reply to a request of method.
func readReply(br *bufio.Reader, method string) (out reply, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)) {
			return out, false, errStale
		}
		return out, false, err
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return out, false, fmt.Errorf("loadtest: bad status line %q", line)
	}
	if out.status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return out, false, fmt.Errorf("loadtest: bad status line %q", line)
	}
	keep = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return out, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return out, false, fmt.Errorf("loadtest: bad header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return out, false, fmt.Errorf("loadtest: bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	switch {
	case method == "HEAD" || out.status == 204 || out.status == 304 || out.status/100 == 1:
	case chunked:
		out.body, err = readChunked(br)
	case length >= 0:
		out.body = make([]byte, length)
		_, err = io.ReadFull(br, out.body)
	default:
		out.body, err = io.ReadAll(br)
		keep = false
	}
	return out, keep && err == nil, err
}

// readChunked reads a chunked body and its trailer.
func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("loadtest: bad chunk size %q", line)
		}
		if n == 0 {
			break
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(br, body[start:]); err != nil {
			return nil, err
		}
		if crlf, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return nil, fmt.Errorf("loadtest: chunk not ended by CRLF")
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return body, nil
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}

// isReset reports a connection reset by the peer.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// expect calls and returns an error unless the status is one of want.
func (c *client) expect(ctx context.Context, r call, want ...int) (reply, error) {
	out, err := c.do(ctx, r)
	if err != nil {
		return out, err
	}
	for _, w := range want {
		if out.status == w {
			return out, nil
		}
	}
	return out, fmt.Errorf("%s %s: %d %s", r.method, r.path, out.status, truncate(out.body, 200))
}

// decode unmarshals a reply body.
func (r reply) decode(v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("decode %s: %w", truncate(r.body, 200), err)
	}
	return nil
}

func truncate(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
