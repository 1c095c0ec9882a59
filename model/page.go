package model

import (
	"encoding/base64"
	"strconv"
)

// Page asks for one page of a list: at most Limit items after Cursor.
type Page struct {
	Limit  int
	Cursor string
}

// List is one page of items and the cursor of the next page ("" at the end).
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// EncodeCursor makes an opaque cursor of an id (the last item of a page).
func EncodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// DecodeCursor reads a cursor made by EncodeCursor; "" is 0 (the first page).
// Errors: invalid_argument (field cursor).
func DecodeCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, InvalidField("cursor", "无效的游标")
	}
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || id <= 0 {
		return 0, InvalidField("cursor", "无效的游标")
	}
	return id, nil
}

// CutPage is the page of a read that fetched up to limit+1 items: the first
// limit, and when there were more, the cursor of the last one kept (id
// gives an item's id).
func CutPage[T any](items []T, limit int, id func(T) int64) List[T] {
	if len(items) <= limit {
		return List[T]{Items: items}
	}
	return List[T]{Items: items[:limit], NextCursor: EncodeCursor(id(items[limit-1]))}
}
