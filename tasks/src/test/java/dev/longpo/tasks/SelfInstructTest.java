package dev.longpo.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The self-instruct profiles on realistic model output: numbered lists with noise, wrong counts, refusals. */
class SelfInstructTest {
    private static final SelfInstruct.Paper PAPER = (SelfInstruct.Paper) SelfInstruct.PAPER;

    @Test
    void thePaperPromptIsTheFigure5TextAndTheUserTurnStartsWithContext() {
        assertTrue(SelfInstruct.Paper.PROMPT.startsWith("\nBased on the content presented above, generate 4 "));
        assertTrue(SelfInstruct.Paper.PROMPT.endsWith("format the 4 questions numerically from \u201c1:\u201d to \u201c4:\u201d."));
        assertEquals("Context:\nsome chunk", PAPER.context("some chunk"));
        assertEquals(20, SelfInstruct.Paper.PHRASES.size());
    }

    @Test
    void numberedListsParseThroughMarkdownNoiseAndNumbersInsideQuestions() {
        String out = "Here are the questions:\n\n**1:** How did the 1998 reform change taxes in 3. regions?\n"
                + "2. What links chapter 2 and chapter 5?\n\n"
                + "3- Why does the author compare 10.5 and 12?  \n#### 4! Which themes recur across the document?!\n";
        assertEquals(List.of("How did the 1998 reform change taxes in 3. regions?", "What links chapter 2 and chapter 5?",
                "Why does the author compare 10.5 and 12?", "Which themes recur across the document?"),
                SelfInstruct.Paper.parseList(out));
        assertEquals(2, SelfInstruct.Paper.parseList("1: One?\n2: Two?\n4: Four?").size(),
                "a list that skips a number ends there");
    }

    @Test
    void exactlyFourQuestionsAreRequiredAndOneIsFramedAtRandom() {
        String four = "1: What is A?\n2: What is B?\n3: What is C?\n4: What is D?";
        SelfInstruct.Pick p = PAPER.pick(List.of("1: Only one?", four), "chunk", new Random(3));
        assertTrue(p.found());
        assertEquals(4, p.pool().size());
        String phrase = SelfInstruct.Paper.PHRASES.stream().filter(p.question()::startsWith).findFirst().orElseThrow();
        assertTrue(p.pool().contains(p.question().substring(phrase.length() + 1)), p.question());
        assertEquals(p, PAPER.pick(List.of("1: Only one?", four), "chunk", new Random(3)), "seeded: reproducible");

        SelfInstruct.Pick five = PAPER.pick(List.of(four + "\n5: What is E?"), "chunk", new Random(1));
        assertFalse(five.found());
        assertTrue(five.reason().contains("[5]"), five.reason());
        SelfInstruct.Pick refusal = PAPER.pick(List.of("I'm sorry, but I can't help with that."), "c", new Random(1));
        assertFalse(refusal.found());
        assertTrue(refusal.reason().contains("[0]") && refusal.reason().contains("sorry"), refusal.reason());
    }

    @Test
    void theMiniProfileKeepsDistinctAnswerableQuestionsInItsFormat() {
        String chunk = "Fog. The magic number for apple is 1111. Rain. The magic number for river is 2222.";
        SelfInstruct.Pick p = SelfInstruct.MINI.pick(List.of("What is the magic number for apple?",
                "What is the magic number for apple?", "What is the magic number for pear?", "gibberish",
                "What is the magic number for river? extra"), chunk, new Random(1));
        assertEquals(List.of("What is the magic number for apple?", "What is the magic number for river?"), p.pool());
        assertTrue(p.pool().contains(p.question()));
        assertFalse(SelfInstruct.MINI.pick(List.of("no question"), chunk, new Random(1)).found());
    }

    @Test
    void theStyleIsChosenByConfigurationWithTheTokenizerDecidingAuto() {
        assertEquals(SelfInstruct.MINI, SelfInstruct.forStyle("auto", true));
        assertEquals(SelfInstruct.PAPER, SelfInstruct.forStyle("auto", false));
        assertEquals(SelfInstruct.PAPER, SelfInstruct.forStyle("paper", true));
        assertThrows(IllegalArgumentException.class, () -> SelfInstruct.forStyle("fancy", true));
    }
}
