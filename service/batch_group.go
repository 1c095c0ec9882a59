package service

import (
	"context"
	"sync"
	"time"
)

// group runs concurrent calls of one operation in batches, so that a round
// trip (a transaction, a Redis pipeline) is shared by every call that
// arrived while the previous batches were busy — group commit.
//
// There is no collector goroutine: the callers take turns (leader/
// follower). A call joins the pending queue; while fewer than inFlight
// batches run, it becomes a leader, takes up to max pending calls (first
// come, first served, its own among them or not) and runs them; the others
// wait for their result, or for a leader slot to free. A lone call therefore
// runs at once, alone. Nothing needs stopping at shutdown: every batch is run
// by a caller, and callers are drained with the requests they serve.
//
// The batch runs under its leader's context without its cancellation (and
// run should bound it with a timeout): a caller that goes away does not
// cancel the others' work. Callers wait for their result whatever their own
// context says.
type group[In, Out any] struct {
	// run returns one result per input, in order. It must not keep ins.
	run func(ctx context.Context, ins []In) []Out
	// after, when set, runs once run returned and the leader slot is free
	// again (the next batch may be running), before the callers get their
	// results: work that must precede the replies without holding up the
	// next batch.
	after func(ctx context.Context, ins []In, outs []Out)
	// failed is each waiting call's result when run panics (the panic then
	// continues in the leader).
	failed   func(p any) Out
	max      int
	inFlight int
	// window is the longest a leader waits for the calls announced with
	// arriving to join its batch (while it is not full); 0 never waits.
	window time.Duration

	mu      sync.Mutex
	pending []*groupCall[In, Out]
	leaders int
	coming  int
	changed chan struct{} // closed and replaced when pending or coming change (with a window)
}

type groupCall[In, Out any] struct {
	in   In
	out  Out
	wake chan struct{} // a hint to look again: done, or a leader slot freed
	// Under the group's mutex.
	taken, done bool
}

func newGroup[In, Out any](max, inFlight int, window time.Duration, run func(context.Context, []In) []Out, failed func(any) Out) *group[In, Out] {
	return &group[In, Out]{run: run, failed: failed, max: max, inFlight: inFlight, window: window, changed: make(chan struct{})}
}

// arriving announces a call on its way (still doing work before do); the
// returned func must be called when it joins with do or gives up. Only a
// group with a window counts them.
func (g *group[In, Out]) arriving() func() {
	if g == nil || g.window <= 0 {
		return func() {}
	}
	g.mu.Lock()
	g.coming++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.coming--
			g.broadcast()
			g.mu.Unlock()
		})
	}
}

// broadcast wakes leaders waiting in gather; with mu held.
func (g *group[In, Out]) broadcast() {
	if g.window > 0 {
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// do runs in within a batch and returns its result; joined (if not nil) is
// called once in is queued.
func (g *group[In, Out]) do(ctx context.Context, in In, joined func()) Out {
	c := &groupCall[In, Out]{in: in, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	g.broadcast()
	g.mu.Unlock()
	if joined != nil {
		joined()
	}
	for {
		g.mu.Lock()
		if c.done {
			g.mu.Unlock()
			return c.out
		}
		if !c.taken && g.leaders < g.inFlight {
			g.leaders++
			g.mu.Unlock()
			g.lead(ctx)
			continue
		}
		g.mu.Unlock()
		<-c.wake
	}
}

// lead runs one batch (the caller holds a leader slot): run, then frees the
// slot so that the next batch may start, then after, then hands each caller
// its result.
func (g *group[In, Out]) lead(ctx context.Context) {
	calls := g.gather()
	if len(calls) == 0 {
		g.release()
		return
	}
	released, finished := false, false
	defer func() {
		if finished {
			return
		}
		p := recover()
		if !released {
			g.release()
		}
		g.finish(calls, func(i int) Out { return g.failed(p) })
		panic(p)
	}()
	ins := make([]In, len(calls))
	for i, c := range calls {
		ins[i] = c.in
	}
	ctx = context.WithoutCancel(ctx)
	outs := g.run(ctx, ins)
	g.release()
	released = true
	if g.after != nil {
		g.after(ctx, ins, outs)
	}
	finished = true
	g.finish(calls, func(i int) Out { return outs[i] })
}

// release frees a leader slot and wakes the first queued call to take it.
func (g *group[In, Out]) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.leaders--
	if len(g.pending) > 0 {
		wake(g.pending[0].wake)
	}
}

// finish hands the calls their results.
func (g *group[In, Out]) finish(calls []*groupCall[In, Out], out func(i int) Out) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, c := range calls {
		c.out = out(i)
		c.done = true
		wake(c.wake)
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// gather takes the next batch from the queue: at once, or — with a window —
// after waiting up to the window while announced calls are on their way and
// the batch is not full.
func (g *group[In, Out]) gather() []*groupCall[In, Out] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.window > 0 && g.coming > 0 && len(g.pending) < g.max {
		timer := time.NewTimer(g.window)
		for expired := false; !expired && g.coming > 0 && len(g.pending) < g.max; {
			ch := g.changed
			g.mu.Unlock()
			select {
			case <-ch:
			case <-timer.C:
				expired = true
			}
			g.mu.Lock()
		}
		timer.Stop()
	}
	n := min(len(g.pending), g.max)
	calls := make([]*groupCall[In, Out], n)
	copy(calls, g.pending)
	rest := make([]*groupCall[In, Out], len(g.pending)-n, max(len(g.pending)-n, 8))
	copy(rest, g.pending[n:])
	g.pending = rest
	for _, c := range calls {
		c.taken = true
	}
	return calls
}
