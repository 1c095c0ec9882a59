package service_test

import (
	"errors"

	"jindalai/model"
)

func asError(err error, target **model.Error) bool { return errors.As(err, target) }
