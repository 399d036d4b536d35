package bad

import (
	"context"
	"errors"
	"fmt"
)

var state = map[string]int{} // want `package-level variable state`

var ErrGone = errors.New("gone")

var _ fmt.Stringer = nil

func init() {} // want `init function`

func wrap(err error) error {
	return fmt.Errorf("read: %v", err) // want `without %w`
}

func wrapped(err error) error { return fmt.Errorf("read: %w", err) }

func late(name string, ctx context.Context) {} // want `context.Context must be the first parameter`

func early(ctx context.Context, name string) {}
