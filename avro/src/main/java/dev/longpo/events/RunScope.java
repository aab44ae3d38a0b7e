package dev.longpo.events;

/**
 * Which run a run-scoped event belongs to. Instruction requests, instructions, generation requests,
 * preference pairs and training samples carry the {@code run_id} of the run that asked for them; the
 * topics are shared by every run on a cluster, so each run's stream processors and workers take only
 * their own run's events (another run's are skipped, never answered, paired or trained twice). An event
 * with an empty run id was written by a producer that does not scope its events: any run takes it.
 */
public final class RunScope {
    private RunScope() {
    }

    /** True when run {@code run} takes an event whose {@code run_id} is {@code eventRun}. */
    public static boolean takes(String run, CharSequence eventRun) {
        return eventRun == null || eventRun.length() == 0 || eventRun.toString().equals(run);
    }
}
