package model

import (
	"slices"
	"testing"
)

func TestCutPage(t *testing.T) {
	id := func(v int64) int64 { return v }
	if got := CutPage([]int64{5, 4}, 2, id); !slices.Equal(got.Items, []int64{5, 4}) || got.NextCursor != "" {
		t.Fatalf("a last page: %+v", got)
	}
	got := CutPage([]int64{5, 4, 3}, 2, id)
	if !slices.Equal(got.Items, []int64{5, 4}) {
		t.Fatalf("items %v", got.Items)
	}
	if after, err := DecodeCursor(got.NextCursor); err != nil || after != 4 {
		t.Fatalf("cursor %q → %d %v, want the last kept id 4", got.NextCursor, after, err)
	}
}
