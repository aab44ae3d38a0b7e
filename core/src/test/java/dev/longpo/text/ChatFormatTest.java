package dev.longpo.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.longpo.text.ByteTokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatFormatTest {
    private final ChatFormat fmt = new ChatFormat(ByteTokenizer.INSTANCE);

    @Test
    void promptIsBosUserContextQuestionAssistant() {
        int[] p = fmt.prompt("ab", "q?");
        assertArrayEquals(new int[] {ByteTokenizer.BOS, ByteTokenizer.USER, 'a', 'b', '\n', '\n', 'q', '?',
            ByteTokenizer.ASSISTANT}, p);
        assertArrayEquals(new int[] {ByteTokenizer.BOS, ByteTokenizer.USER, 'q', ByteTokenizer.ASSISTANT},
                fmt.prompt("", "q"));
    }

    @Test
    void conversationMarksEveryAnswerAndItsEos() {
        ChatFormat.Sequence s = fmt.conversation("C", List.of("q1", "q2"), List.of(new int[] {'x'}, new int[] {'y', 'z'}));
        int[] expected = {ByteTokenizer.BOS, ByteTokenizer.USER, 'C', '\n', '\n', 'q', '1', ByteTokenizer.ASSISTANT, 'x',
            ByteTokenizer.EOS, ByteTokenizer.USER, 'q', '2', ByteTokenizer.ASSISTANT, 'y', 'z', ByteTokenizer.EOS};
        assertArrayEquals(expected, s.tokens());
        StringBuilder marks = new StringBuilder();
        for (boolean b : s.answer()) {
            marks.append(b ? '1' : '0');
        }
        assertEquals("00000000110000111", marks.toString());
        assertThrows(IllegalArgumentException.class, () -> fmt.conversation("C", List.of("q"), List.of()));
    }

    @Test
    void decodeAnswerStopsAtEos() {
        assertEquals("hi", fmt.decodeAnswer(new int[] {'h', 'i', ByteTokenizer.EOS, 'x'}));
        assertEquals("hi", fmt.decodeAnswer(new int[] {'h', 'i'}));
    }
}
