package service

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// group runs concurrent calls of one operation in batches, so that a round
// trip (a transaction, a Redis pipeline) is shared by every call that
// arrived while the previous batches were busy — group commit.
//
// There is no collector: the callers take turns. A call joins the pending
// queue; while fewer than inFlight batches run, it starts one, which takes up
// to max pending calls (first come, first served) — so a lone call runs at
// once, alone, and batches grow only while earlier ones are busy. The batch
// runs in a goroutine of its own, under its starter's context values but
// neither its cancellation nor its deadline, for at most maxBatch: one
// caller going away cancels nobody's work, and a batch whose callers all
// gave up (a hung database) still finishes, so what it wrote is known and
// followed up (queued), where a lone write cut by its deadline leaves that
// unknown.
//
// Each caller waits for its own result or its own context, whichever comes
// first; a caller whose context ends while its call is still queued takes
// the call out of the queue (it never runs), and one whose call is already
// running leaves it to finish without it. Nothing needs stopping at
// shutdown: a batch ends within maxBatch.
type group[In, Out any] struct {
	// run returns one result per input, in order. It must not keep ins.
	run func(ctx context.Context, ins []In) []Out
	// after, when set, runs once run returned and the slot is free again
	// (the next batch may be running), before the callers get their
	// results: work that must precede the replies without holding up the
	// next batch.
	after func(ctx context.Context, ins []In, outs []Out)
	// failed is a call's result when its context ended first, or when run
	// panicked.
	failed   func(err error) Out
	max      int
	inFlight int
	// window is the longest a batch waits for the calls announced with
	// arriving to join it (while it is not full); 0 never waits.
	window time.Duration

	mu      sync.Mutex
	pending []*groupCall[In, Out]
	running int // batches holding a slot
	live    int // batch goroutines not yet finished (in after, too)
	ended   *sync.Cond
	coming  int
	changed chan struct{} // closed and replaced when pending or coming change (with a window)
}

// maxBatch bounds a batch.
const maxBatch = 15 * time.Second

type groupCall[In, Out any] struct {
	in   In
	out  Out
	wake chan struct{}
	// Under the group's mutex.
	taken, done bool
}

func newGroup[In, Out any](max, inFlight int, window time.Duration, run func(context.Context, []In) []Out, failed func(error) Out) *group[In, Out] {
	g := &group[In, Out]{run: run, failed: failed, max: max, inFlight: inFlight, window: window, changed: make(chan struct{})}
	g.ended = sync.NewCond(&g.mu)
	return g
}

// wait returns once no batch is running (the calls still queued then start
// no new one only if no caller is left to wait for them).
func (g *group[In, Out]) wait() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.live > 0 {
		g.ended.Wait()
	}
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

// broadcast wakes batches waiting in gather; with mu held.
func (g *group[In, Out]) broadcast() {
	if g.window > 0 {
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// do runs in within a batch and returns its result, or failed(ctx.Err())
// when ctx ends first; joined (if not nil) is called once in is queued.
func (g *group[In, Out]) do(ctx context.Context, in In, joined func()) Out {
	c := &groupCall[In, Out]{in: in, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	g.broadcast()
	g.startLocked(ctx)
	g.mu.Unlock()
	if joined != nil {
		joined()
	}
	select {
	case <-c.wake:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.done {
		return c.out
	}
	if !c.taken {
		for i, p := range g.pending {
			if p == c {
				g.pending = append(g.pending[:i:i], g.pending[i+1:]...)
				break
			}
		}
	}
	return g.failed(ctx.Err())
}

// startLocked starts a batch if there are queued calls and a free slot;
// with mu held. ctx gives the batch its values.
func (g *group[In, Out]) startLocked(ctx context.Context) {
	if len(g.pending) == 0 || g.running >= g.inFlight {
		return
	}
	g.running++
	g.live++
	go g.batch(context.WithoutCancel(ctx))
}

// batch runs one batch in its slot: run, then frees the slot (starting the
// next batch if calls are queued), then after, then hands each caller its
// result.
func (g *group[In, Out]) batch(ctx context.Context) {
	defer func() {
		g.mu.Lock()
		g.live--
		g.ended.Broadcast()
		g.mu.Unlock()
	}()
	calls := g.gather()
	if len(calls) == 0 {
		g.release(ctx)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, maxBatch)
	defer cancel()
	released, finished := false, false
	defer func() {
		if finished {
			return
		}
		err := fmt.Errorf("batch panicked: %v", recover())
		if !released {
			g.release(ctx)
		}
		g.finish(calls, func(int) Out { return g.failed(err) })
	}()
	ins := make([]In, len(calls))
	for i, c := range calls {
		ins[i] = c.in
	}
	outs := g.run(ctx, ins)
	g.release(ctx)
	released = true
	if g.after != nil {
		g.after(ctx, ins, outs)
	}
	finished = true
	g.finish(calls, func(i int) Out { return outs[i] })
}

// release frees a slot and starts the next batch if calls are queued.
func (g *group[In, Out]) release(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	g.startLocked(ctx)
}

// finish hands the calls their results.
func (g *group[In, Out]) finish(calls []*groupCall[In, Out], out func(i int) Out) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, c := range calls {
		c.out = out(i)
		c.done = true
		select {
		case c.wake <- struct{}{}:
		default:
		}
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
