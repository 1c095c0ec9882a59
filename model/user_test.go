package model

import "testing"

func TestPrincipalScopes(t *testing.T) {
	p := Principal{Roles: []Role{
		{Role: RoleSocialWorker, StationID: 3},
		{Role: RoleStationAdmin, StationID: 4},
		{Role: RoleOrgAdmin, OrgID: 9},
	}}
	if !p.HasStationRole(3, RoleSocialWorker) || p.HasStationRole(3, RoleStationAdmin) {
		t.Fatal("station role at 3")
	}
	if got := p.StationIDs(RoleSocialWorker, RoleStationAdmin); len(got) != 2 {
		t.Fatalf("station ids %v", got)
	}
	if !p.HasOrgRole(9, RoleOrgAdmin) || p.HasOrgRole(8, RoleOrgAdmin) || p.IsCityAdmin() {
		t.Fatal("org role")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	id, err := DecodeCursor(EncodeCursor(12345))
	if err != nil || id != 12345 {
		t.Fatalf("%d %v", id, err)
	}
	if id, err := DecodeCursor(""); id != 0 || err != nil {
		t.Fatal("empty cursor")
	}
	for _, bad := range []string{"!!", "LTE", EncodeCursor(-1)} {
		if _, err := DecodeCursor(bad); !IsCode(err, CodeInvalid) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	fe := FieldErrors{}
	if fe.Err() != nil {
		t.Fatal("empty must be nil")
	}
	fe.Add("lat", "out of range")
	fe.Add("lat", "second")
	err := fe.Err()
	var e *Error
	if !asError(err, &e) || e.Fields["lat"] != "out of range" || e.Code != CodeInvalid {
		t.Fatalf("%v", err)
	}
	if ErrorCode(nil) != "" || ErrorCode(errPlain{}) != CodeInternal {
		t.Fatal("ErrorCode")
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "plain" }

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}
