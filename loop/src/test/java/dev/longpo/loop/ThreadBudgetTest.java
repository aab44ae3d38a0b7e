package dev.longpo.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.longpo.common.LongpoConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** In-process runs split the cores among the model roles instead of giving each role every core. */
class ThreadBudgetTest {
    private static int threads(String setting, List<Role> roles, int cores) {
        return LoopRunner.threadBudget(LongpoConfig.load(null, Map.of("model.threads", setting)), roles, cores)
                .getInt("model.threads");
    }

    @Test
    void autoGivesEachModelRoleAnEqualShareAndAtLeastOneThread() {
        List<Role> all = List.of(Role.values());
        assertEquals(1, threads("0", all, 2), "four model roles on two cores");
        assertEquals(4, threads("0", all, 16));
        assertEquals(3, threads("0", all, 15), "whole threads only, never more than the cores");
        assertEquals(8, threads("0", List.of(Role.CONTROL, Role.TRAIN, Role.EVAL), 16), "the controller runs no model");
        assertEquals(16, threads("0", List.of(Role.CONTROL, Role.TRAIN), 16));
    }

    @Test
    void anExplicitSettingIsKept() {
        assertEquals(2, threads("2", List.of(Role.values()), 2));
        assertEquals(6, threads("6", List.of(Role.TRAIN), 64));
    }
}
