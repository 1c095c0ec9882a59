package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"jindalai/model"
)

// The outbox sender: delivery guarantees.
//
// Each due row is claimed by exactly one sender: a conditional UPDATE moves
// it from 'pending' to 'sending' under the sender's random token with a
// lease (claimed_until), and the grant it needs is reserved in the same
// transaction. The WeChat send and the UPDATE recording its outcome cannot
// be one atomic step, so delivery is at least once. Exactly what happens if
// a replica crashes (or is killed) between them:
//
//   - crash after the claim, before the send: the row stays 'sending' until
//     its lease ends, then the next sender's sweep puts it back to 'pending'
//     (attempts + 1, grant still held) and it is sent once, late by at most
//     one lease;
//   - crash after WeChat accepted the send, before the row is marked 'sent'
//     (a window of one UPDATE, about a millisecond): the same sweep makes it
//     due again and the user receives it twice. The same happens if MySQL
//     stays unreachable through the retries of that UPDATE (5 s);
//   - a send that times out may or may not have reached WeChat, which has no
//     idempotency key; it is retried like any transient failure, so a
//     timeout after WeChat accepted also repeats the message.
//
// What keeps these windows from opening in normal operation, so that a
// message is never sent twice in practice: a claimer's lease never runs out
// while it lives (a send starts only while the lease has room for the send
// and its bookkeeping; the rest of the batch is released unsent); shutdown
// (ctx) does not cut a send in flight — it finishes and is recorded on a
// context of its own, then the unsent rest is released; recording an
// outcome is retried briefly; and an outcome is recorded only by the token
// that claimed the row, so a swept row cannot be marked by its old owner.
// Nothing is lost: a row is pending, sending (under a lease) or final
// (sent, skipped, dead), and every sending row returns to pending when its
// lease ends.

// finishMargin is the time the bookkeeping after a send may take.
const finishMargin = 5 * time.Second

// depthEvery is how often the loop samples the queue depth (a COUNT over
// the pending rows).
const depthEvery = 5 * time.Second

// Run delivers due notifications every cfg.Every (at once again while
// batches come back full) until ctx ends; it also samples the queue depth
// every few seconds. It is safe to run on every replica.
func (n *Notifications) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var sampled time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if time.Since(sampled) >= depthEvery {
			sampled = time.Now()
			if depth, err := n.store.CountPendingNotifications(ctx); err == nil {
				n.metrics.depth.Set(float64(depth))
			}
		}
		for ctx.Err() == nil {
			done, err := n.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					n.log.Warn("notification sender", "err", err)
				}
				break
			}
			if done < n.cfg.BatchSize {
				break
			}
		}
		timer.Reset(n.cfg.Every)
	}
}

// RunOnce sweeps expired leases, claims one batch of due notifications and
// delivers it. It returns how many notifications it claimed (sent, skipped,
// retried or released). Errors: unavailable, internal (from storage).
func (n *Notifications) RunOnce(ctx context.Context) (int, error) {
	start := n.cfg.Now()
	if swept, err := n.store.ReclaimExpiredNotifications(ctx, start); err != nil {
		return 0, err
	} else if swept > 0 {
		n.log.Warn("notification leases expired: a sender stopped mid-delivery; these messages are sent again and may arrive twice",
			"count", swept)
	}
	token, err := claimToken()
	if err != nil {
		return 0, err
	}
	leaseUntil := start.Add(n.cfg.Lease)
	batch, err := n.store.ClaimNotifications(ctx, model.OutboxClaim{
		Token: token, Now: start, LeaseUntil: leaseUntil, Limit: n.cfg.BatchSize, Templates: n.templates,
	})
	if err != nil {
		return 0, err
	}
	claimed := len(batch.Send)
	for reason, count := range batch.Skipped {
		n.metrics.skipped.WithLabelValues(reason).Add(float64(count))
		claimed += count
	}
	for i, it := range batch.Send {
		if ctx.Err() != nil || n.cfg.Now().Add(2*n.cfg.SendTimeout+finishMargin).After(leaseUntil) {
			n.release(ctx, token, len(batch.Send)-i)
			break
		}
		n.deliver(ctx, token, it)
	}
	return claimed, nil
}

// deliver sends one claimed notification and records the outcome. The send
// and the bookkeeping run on a context detached from ctx, so shutdown never
// cuts a send whose result would then be unknown.
func (n *Notifications) deliver(ctx context.Context, token string, it model.OutboxItem) {
	tpl, ok := n.cfg.Templates[it.Kind]
	if !ok {
		// The kind lost its template since the claim (a config change).
		n.finish(ctx, token, it, model.PushOutcome{State: model.PushSkipped, SkipReason: model.SkipNoTemplate, ReturnGrant: true})
		n.metrics.skipped.WithLabelValues(model.SkipNoTemplate).Inc()
		return
	}
	page := it.Page
	if page == "" {
		page = tpl.Page
	}
	msg := model.SubscribeMessage{
		ToOpenID:         it.OpenID,
		TemplateID:       it.TemplateID,
		Page:             page,
		Data:             templateValues(tpl.Fields, it, n.loc),
		MiniProgramState: n.cfg.MiniProgramState,
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*n.cfg.SendTimeout)
	err := n.wx.SendSubscribe(sendCtx, msg)
	cancel()
	at := n.cfg.Now()
	switch {
	case err == nil:
		n.finish(ctx, token, it, model.PushOutcome{State: model.PushSent, At: at})
		n.metrics.sent.WithLabelValues(it.Kind).Inc()
	case n.cfg.IsRefused(err):
		n.finish(ctx, token, it, model.PushOutcome{State: model.PushSkipped, SkipReason: model.SkipRefused,
			Error: err.Error(), ReturnGrant: true})
		n.metrics.skipped.WithLabelValues(model.SkipRefused).Inc()
	case n.cfg.IsRetryable(err) && it.Attempts+1 < n.cfg.MaxAttempts:
		n.metrics.failed.WithLabelValues(it.Kind).Inc()
		next := at.Add(n.backoff(it.Attempts + 1))
		n.finish(ctx, token, it, model.PushOutcome{State: model.PushPending, NextAttemptAt: next, Error: err.Error()})
		n.metrics.retried.WithLabelValues(it.Kind).Inc()
	default:
		n.metrics.failed.WithLabelValues(it.Kind).Inc()
		n.log.Warn("notification dead-lettered", "id", it.ID, "kind", it.Kind, "attempts", it.Attempts+1, "err", err)
		n.finish(ctx, token, it, model.PushOutcome{State: model.PushDead, Error: err.Error(), ReturnGrant: true})
		n.metrics.dead.WithLabelValues(it.Kind).Inc()
	}
}

// finish records an outcome, retrying for up to finishMargin while storage
// fails: a sent message left 'sending' would be sent again after its lease.
func (n *Notifications) finish(ctx context.Context, token string, it model.OutboxItem, o model.PushOutcome) {
	if o.At.IsZero() {
		o.At = n.cfg.Now()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishMargin)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		ours, err := n.store.FinishNotification(fctx, it.ID, token, o)
		if err == nil {
			if !ours {
				n.log.Warn("notification lease lost before its outcome was recorded", "id", it.ID, "state", o.State)
			}
			return
		}
		select {
		case <-fctx.Done():
			n.log.Error("cannot record notification outcome; it is retried when its lease ends",
				"id", it.ID, "state", o.State, "err", err)
			return
		case <-time.After(wait):
			wait = min(2*wait, time.Second)
		}
	}
}

// release hands the unsent rest of a batch back to the queue.
func (n *Notifications) release(ctx context.Context, token string, count int) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishMargin)
	defer cancel()
	if _, err := n.store.ReleaseNotifications(rctx, token); err != nil {
		n.log.Warn("cannot release claimed notifications; they are retried when their lease ends", "count", count, "err", err)
	}
}

// backoff is the delay before attempt number failures+1: BaseBackoff
// doubled per failure, capped at MaxBackoff, then jittered to between half
// and all of it so that messages failing together spread out.
func (n *Notifications) backoff(failures int) time.Duration {
	d := n.cfg.BaseBackoff
	for i := 1; i < failures && d < n.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, n.cfg.MaxBackoff)
	half := d / 2
	return half + time.Duration(n.cfg.Jitter()*float64(d-half))
}

// claimToken is a random identifier of one claim (32 hex characters).
func claimToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", model.Wrap(model.CodeInternal, err, "")
	}
	return hex.EncodeToString(b), nil
}
