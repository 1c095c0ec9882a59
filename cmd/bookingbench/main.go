// Command bookingbench measures booking throughput and latency over HTTP
// against a running `jindalai serve` (with the fake WeChat), and prints one
// `BENCH name=booking ...` line per scenario:
//
//   - contended: R residents book S slots of capacity C all at once (resident
//     i takes slot i mod S), repeated -rounds times on fresh slots; it checks
//     that exactly min(R, S×C) bookings succeed and the rest get 409.
//   - uncontended: -workers clients book places in slots nobody else books.
//
// By default it starts the server itself from -bin on a spare loopback port
// with its own database (made from JINDALAI_TEST_MYSQL_DSN, seeded with the
// demo city, dropped at the end) and Redis key prefix; -base targets a server
// already running instead (with the fake WeChat and the bootstrap admin
// dev_admin, i.e. login code "admin").
//
//	go build -o bin/jindalai . && go run ./cmd/bookingbench -bin bin/jindalai
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"jindalai/cmd/internal/benchkit"
)

func main() {
	base := flag.String("base", "", "URL of a running server (empty: start -bin on a spare port with its own database)")
	bin := flag.String("bin", "bin/jindalai", "server binary to start when -base is empty")
	config := flag.String("config", "deploy/config.dev.yaml", "server config when -base is empty")
	station := flag.Int64("station", 0, "station to create the offering at (0: find or create one)")
	residents := flag.Int("residents", 200, "contended: residents booking at once")
	slots := flag.Int("slots", 20, "contended: slots")
	capacity := flag.Int("capacity", 5, "contended: places per slot")
	rounds := flag.Int("rounds", 5, "contended: rounds, each on fresh slots")
	uncontended := flag.Int("uncontended", 1000, "uncontended: bookings in total")
	workers := flag.Int("workers", 16, "uncontended: concurrent clients")
	flag.Parse()

	if err := run(*base, *bin, *config, *station, *residents, *slots, *capacity, *rounds, *uncontended, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "bookingbench:", err)
		os.Exit(1)
	}
}

func run(base, bin, config string, station int64, residents, slots, capacity, rounds, uncontended, workers int) error {
	if base == "" {
		srv, err := startServer(bin, config)
		if err != nil {
			return err
		}
		defer srv.stop()
		base = srv.base
	}
	c := newClient(base)
	admin, err := c.login("admin")
	if err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	if station == 0 {
		if station, err = c.findOrCreateStation(admin); err != nil {
			return err
		}
	}
	offering, err := c.createOffering(admin, station)
	if err != nil {
		return err
	}
	n := max(residents, workers)
	tokens := make([]string, n)
	for i := range tokens {
		if tokens[i], err = c.login(fmt.Sprintf("bench_%d_%d", time.Now().UnixNano()%1e6, i)); err != nil {
			return fmt.Errorf("resident login: %w", err)
		}
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)

	var all []time.Duration
	var ok, conflict, failed int
	var wall time.Duration
	for r := 0; r < rounds; r++ {
		ids, err := c.createSlots(admin, offering, start.Add(time.Duration(r*slots)*time.Hour), slots, capacity)
		if err != nil {
			return err
		}
		res := c.burst(tokens[:residents], func(i int) int64 { return ids[i%len(ids)] })
		all = append(all, res.latencies...)
		ok, conflict, failed, wall = ok+res.ok, conflict+res.conflict, failed+res.failed, wall+res.wall
		if want := min(residents, slots*capacity); res.ok != want || res.failed > 0 {
			return fmt.Errorf("round %d: %d booked, %d conflicts, %d errors; want exactly %d booked", r, res.ok, res.conflict, res.failed, want)
		}
	}
	report(fmt.Sprintf("scenario=contended residents=%d slots=%d capacity=%d rounds=%d", residents, slots, capacity, rounds),
		all, ok, conflict, failed, wall)

	// Uncontended: each booking takes a place in a slot only its worker uses.
	per := min((uncontended+workers-1)/workers, len(tokens))
	ids, err := c.createSlots(admin, offering, start.Add(time.Duration(rounds*slots+1)*time.Hour), workers, per)
	if err != nil {
		return err
	}
	res := c.steady(tokens, ids, per)
	report(fmt.Sprintf("scenario=uncontended workers=%d", workers), res.latencies, res.ok, res.conflict, res.failed, res.wall)
	if res.failed > 0 || res.conflict > 0 {
		return fmt.Errorf("uncontended: %d conflicts, %d errors", res.conflict, res.failed)
	}
	return nil
}

// result is what a scenario measured.
type result struct {
	latencies            []time.Duration
	ok, conflict, failed int
	wall                 time.Duration
}

func (r *result) add(d time.Duration, status int) {
	r.latencies = append(r.latencies, d)
	switch status {
	case http.StatusCreated:
		r.ok++
	case http.StatusConflict:
		r.conflict++
	default:
		r.failed++
	}
}

// burst sends one booking per token at the same moment.
func (c *client) burst(tokens []string, slotOf func(int) int64) result {
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			d, status := c.book(tok, slotOf(i))
			mu.Lock()
			res.add(d, status)
			mu.Unlock()
		}()
	}
	began := time.Now()
	close(gate)
	wg.Wait()
	res.wall = time.Since(began)
	return res
}

// steady has worker w fill slot ids[w], one booking after another, each by a
// different resident (n must not exceed len(tokens)).
func (c *client) steady(tokens []string, ids []int64, n int) result {
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	began := time.Now()
	for w := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				tok := tokens[(w+i)%len(tokens)]
				d, status := c.book(tok, ids[w])
				mu.Lock()
				res.add(d, status)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(began)
	return res
}

func report(what string, lat []time.Duration, ok, conflict, failed int, wall time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(benchkit.Percentile(lat, p).Microseconds()) / 1000 }
	rps := float64(len(lat)) / wall.Seconds()
	fmt.Printf("BENCH name=booking %s requests=%d booked=%d conflict=%d errors=%d wall_s=%.2f rps=%.0f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
		what, len(lat), ok, conflict, failed, wall.Seconds(), rps, q(50), q(90), q(99), q(100))
}

// client calls the API.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string) *client {
	tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute}
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *client) call(method, path, token string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, err
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

func (c *client) login(code string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	_, err := c.call("POST", "/api/v1/auth/wechat/login", "", map[string]string{"code": code}, &out)
	return out.Token, err
}

// findOrCreateStation returns a station near the demo city centre, creating
// a city station when the tree is empty; 1 when the server has no stations API.
func (c *client) findOrCreateStation(admin string) (int64, error) {
	var list struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	status, err := c.call("GET", "/api/v1/stations?lat=42.905&lng=129.509&radius_m=50000", admin, nil, &list)
	if status == http.StatusNotFound {
		return 1, nil
	}
	if err == nil && len(list.Items) > 0 {
		return list.Items[0].ID, nil
	}
	var st struct {
		ID int64 `json:"id"`
	}
	_, err = c.call("POST", "/api/v1/admin/stations", admin, map[string]any{
		"name": "压测社工总站", "level": 1, "lat": 42.905, "lng": 129.509, "address": "延吉市", "radius_m": 5000,
		"categories": []string{}}, &st)
	if err != nil {
		return 0, fmt.Errorf("create a station (pass -station): %w", err)
	}
	return st.ID, nil
}

func (c *client) createOffering(admin string, station int64) (int64, error) {
	var o struct {
		ID int64 `json:"id"`
	}
	_, err := c.call("POST", "/api/v1/admin/services", admin, map[string]any{
		"station_id": station, "name": "心理咨询（压测）", "category": "counselling", "duration_min": 60}, &o)
	return o.ID, err
}

// createSlots makes n one-hour slots, one an hour from start.
func (c *client) createSlots(admin string, offering int64, start time.Time, n, capacity int) ([]int64, error) {
	ids := make([]int64, n)
	for i := range ids {
		s := start.Add(time.Duration(i) * time.Hour)
		var sl struct {
			ID int64 `json:"id"`
		}
		if _, err := c.call("POST", fmt.Sprintf("/api/v1/admin/services/%d/slots", offering), admin, map[string]any{
			"starts_at": s.Format(time.RFC3339), "ends_at": s.Add(time.Hour).Format(time.RFC3339), "capacity": capacity}, &sl); err != nil {
			return nil, err
		}
		ids[i] = sl.ID
	}
	return ids, nil
}

// book sends one booking and returns its latency and status (0: transport error).
func (c *client) book(token string, slot int64) (time.Duration, int) {
	began := time.Now()
	status, _ := c.call("POST", "/api/v1/bookings", token, map[string]any{"slot_id": slot}, nil)
	return time.Since(began), status
}
