package wechat

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// InstallHTTPClient makes the SDK send every request with hc by assigning the
// SDK's global util.DefaultHTTPClient, and returns the client it replaces.
// hc must be a client of its own (DefaultClient or FakeDialClient), never
// http.DefaultClient. The assignment is not synchronised: call it from main
// before any WeChat call, or from tests that do not run in parallel.
func InstallHTTPClient(hc *http.Client) (previous *http.Client) {
	if hc == nil {
		panic("wechat: InstallHTTPClient needs a client")
	}
	previous = util.DefaultHTTPClient
	util.DefaultHTTPClient = hc
	return previous
}

// DefaultClient returns the production client for api.weixin.qq.com: the
// whole request (including reading the reply) is bounded by timeout (zero
// means DefaultHTTPTimeout), connecting and the TLS handshake by at most 5s,
// and idle connections are pooled since nearly all calls go to one host. It
// honours HTTPS_PROXY like http.DefaultTransport.
func DefaultClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	step := min(5*time.Second, timeout)
	dialer := &net.Dialer{Timeout: step, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   step,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// FakeDialClient returns a client that connects to fakeAddr (host:port of a
// fakewechat server) whatever host a URL names, so the SDK's fixed
// https://api.weixin.qq.com URLs reach the fake. It skips TLS certificate
// verification because the fake serves a self-signed certificate; use it only
// for the fake (tests and the dev stack), never for the real WeChat API. It
// ignores proxy settings.
func FakeDialClient(fakeAddr string, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	dialer := &net.Dialer{Timeout: min(5*time.Second, timeout)}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, fakeAddr)
		},
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, //nolint:gosec // the fake's certificate is self-signed; see above.
		},
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
