package main

import (
	"context"
	"fmt"
)

// S7: org shapes. S1 (a full sync into an empty graph) and S2 (a re-sync
// where nothing changed) on a flat org (no managers) and a deep one
// (manager chains of 50, the simulator's --shape deep), each checked
// against the simulator's export: every user's manager edge, MANAGE_BY and
// its MANAGE mirror, must be the expected one, so the deep org's chains
// are checked link by link.
const s7Users = 100000

// shapes is S7.
func (b *bench) shapes(ctx context.Context) error {
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	n := s7Users
	if len(b.o.users) > 0 {
		n = b.o.users[len(b.o.users)-1]
	}
	for _, shape := range []string{"flat", "deep"} {
		err := b.withSim(ctx, simOptions{users: n, shape: shape}, func(s *sim, export []oktaUser) error {
			pairs := 0
			for _, e := range expectUsers(export) {
				if e.manager != "" {
					pairs++
				}
			}
			if err := resetGraph(ctx, b.driver); err != nil {
				return err
			}
			label := fmt.Sprintf("%s org, %d users", shape, n)
			r1, err := b.measure(ctx, "S7", "S1 "+label, b.o.oktasync, s, export, false)
			if err != nil {
				return err
			}
			r2, err := b.measure(ctx, "S7", "S2 "+label, b.o.oktasync, s, export, false)
			if err != nil {
				return err
			}
			note := fmt.Sprintf("%s, %d users: %d expected manager pairs; S1 %.2f s, S2 %.2f s (S2/S1 %.2f×); graph %s",
				shape, n, pairs, r1.WallS, r2.WallS, r2.WallS/r1.WallS, r2.Verified)
			b.report.note("S7", note)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s org: %w", shape, err)
		}
	}
	return nil
}
