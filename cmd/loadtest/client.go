package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// client is the simulated users' HTTP client: one tuned Transport shared by
// every worker, keeping at least one idle connection per worker.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string, concurrency int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
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

func (c *client) do(ctx context.Context, r call) (reply, error) {
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, body: raw}, nil
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
