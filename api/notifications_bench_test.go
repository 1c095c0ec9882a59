package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"jindalai/model"
	"jindalai/service"
	"jindalai/store/storetest"
	"jindalai/wechat"
)

// BenchmarkNotificationSender measures end-to-end delivery: each op is one
// notification claimed (with its grant), sent to the fake WeChat over TLS on
// loopback and marked sent, by 1 or 2 senders sharing the queue.
//
//	go test -run XXX -bench NotificationSender -benchtime 2000x ./api/
func BenchmarkNotificationSender(b *testing.B) {
	for _, senders := range []int{1, 2} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			benchmarkSender(b, senders)
		})
	}
}

func benchmarkSender(b *testing.B, senders int) {
	sharedFakeWeChat()
	st := storetest.New(b)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	u, err := st.UpsertUserByOpenID(ctx, "dev_bench_"+fmt.Sprint(time.Now().UnixNano()), "")
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		if _, err := st.AddSubscribeGrants(ctx, nil, u.ID, []string{"tpl_test_ref"}); err != nil {
			b.Fatal(err)
		}
	}
	for done := 0; done < b.N; done += 500 {
		ns := make([]model.Notification, min(500, b.N-done))
		for i := range ns {
			ns[i] = model.Notification{UserID: u.ID, Kind: "test_ref", Title: "基准", Data: map[string]string{"ref": fmt.Sprint(done + i)}}
		}
		if err := st.EnqueueNotifications(ctx, ns...); err != nil {
			b.Fatal(err)
		}
	}
	services := make([]*service.Notifications, senders)
	for i := range services {
		cfg := testNotifyConfig()
		cfg.BatchSize = 50
		client := wechat.New(wechat.Config{AppID: "wx_test", AppSecret: "secret"}, wechat.NewRedisCache(st.Redis, st.Keys.WeChat))
		if services[i], err = service.NewNotifications(st, client, cfg, nil, st.Loc, log); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.RunOnce(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if pending, _ := st.CountPendingNotifications(ctx); pending != 0 {
		b.Fatalf("%d left pending", pending)
	}
}
