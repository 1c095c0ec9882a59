package main

import (
	"context"
	"fmt"
	"net/http"
)

// scenario is one measured line of the report.
type scenario struct {
	name string
	// baseline names the scenario this one's rate is compared with.
	baseline string
	// paired: the scenario is measured in alternation with its baseline
	// (runPaired), and its ratio is to that paired figure, reported as a
	// row of its own (pairedName).
	paired bool
	// needs lists the routes ("POST /api/v1/requests") the server must have
	// (read from its /openapi.yaml); without them the scenario is skipped.
	needs []string
	// prepare readies the scenario (unmeasured) and returns its operation.
	prepare func(ctx context.Context, b *bench) (op, plan, error)
	// verify, when set, checks the outcome after the run (e.g. that a claim
	// storm confirmed exactly the capacity) and returns a note for the report.
	verify func(ctx context.Context, b *bench, r result) (string, error)
}

// scenarios is the run order. Baselines come first so a scenario's ratio is
// to a figure taken minutes (not hours) apart on the same servers; a paired
// scenario's ratio is to its baseline measured in alternation with it.
func scenarios() []scenario {
	return []scenario{
		{name: "healthz", prepare: healthz},
		{name: "redis_get", prepare: redisGet},
		{name: "redis_evalsha", prepare: redisEvalSHA},
		{name: "mysql_write", prepare: mysqlWrite},
		{name: "me", baseline: "healthz", needs: []string{"GET /api/v1/me"}, prepare: me},
		{name: "login", baseline: "mysql_write", needs: []string{"POST /api/v1/auth/wechat/login"}, prepare: login},
		{name: "match", baseline: "redis_evalsha", needs: []string{"GET /api/v1/stations"}, prepare: match},
		{name: "submit", baseline: "mysql_write", paired: true, needs: []string{"POST /api/v1/requests"}, prepare: submit, verify: verifySubmit},
		{name: "queue_list", baseline: "redis_get", needs: []string{"GET /api/v1/queue"}, prepare: queueList, verify: verifyQueue},
		{name: "accept", baseline: "mysql_write", needs: []string{"POST /api/v1/requests/{id}/accept"}, prepare: accept, verify: verifyAccept},
		{name: "booking", baseline: "mysql_write", needs: []string{"POST /api/v1/bookings"}, prepare: booking, verify: verifyBooking},
		{name: "claim_storm", baseline: "mysql_write", needs: []string{"POST /api/v1/activities", "POST /api/v1/activities/{id}/claims"},
			prepare: claimStorm, verify: verifyStorm},
	}
}

// login is a resident's WeChat login: rate limit, Code2Session on the fake
// WeChat, user upsert, session creation.
func login(ctx context.Context, b *bench) (op, plan, error) {
	p := b.plan()
	return func(ctx context.Context, w, i int) error {
		code := fmt.Sprintf("%s%d", codeResident, (i*p.Concurrency+w)%b.city.Residents)
		_, err := b.http.expect(ctx, call{method: "POST", path: "/api/v1/auth/wechat/login",
			body: map[string]string{"code": code}}, http.StatusOK)
		return err
	}, p, nil
}

// me is GET /api/v1/me by logged-in residents: session lookup and the user's
// profile and roles.
func me(ctx context.Context, b *bench) (op, plan, error) {
	tokens, err := b.tokens(ctx, codeResident, min(2000, b.city.Residents))
	if err != nil {
		return nil, plan{}, err
	}
	p := b.plan()
	return func(ctx context.Context, w, i int) error {
		tok := tokens[(i*p.Concurrency+w)%len(tokens)]
		_, err := b.http.expect(ctx, call{method: "GET", path: "/api/v1/me", token: tok}, http.StatusOK)
		return err
	}, p, nil
}

// pairedName is the report's name of a baseline measured in alternation
// with a scenario.
func pairedName(baseline, scenario string) string { return baseline + "_with_" + scenario }

// scenarioNamed returns the scenario called name.
func scenarioNamed(name string) (scenario, bool) {
	for _, sc := range scenarios() {
		if sc.name == name {
			return sc, true
		}
	}
	return scenario{}, false
}
