package csv

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests (the
// concurrent writers of TestCSVWriterConcurrent among them).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
