// ESLint rule `wallet/file-size`: a file longer than `max` lines must say why at its top, in a
// comment before any code that contains `Longer than <max> lines:` and a reason. Long files are
// allowed, silent ones are not: the comment tells the next reader whether to split it.
const rule = {
  meta: {
    type: 'suggestion',
    docs: { description: 'files over the line limit must give a reason in their first comment' },
    schema: [
      { type: 'object', properties: { max: { type: 'integer', minimum: 1 } }, additionalProperties: false },
    ],
    messages: {
      tooLong:
        'This file has {{lines}} lines (limit {{max}}). Split it, or start it with a comment that says "Longer than {{max}} lines: <why>".',
    },
  },
  create(context) {
    const max = context.options[0]?.max ?? 400;
    return {
      Program(node) {
        const source = context.sourceCode;
        const lines = source.lines.length;
        if (lines <= max) return;
        const firstToken = source.ast.tokens[0];
        const leading = source
          .getAllComments()
          .filter((comment) => !firstToken || comment.range[1] <= firstToken.range[0]);
        const marker = `Longer than ${max} lines:`;
        const reasoned = leading.some((comment) => {
          const at = comment.value.indexOf(marker);
          return at >= 0 && comment.value.slice(at + marker.length).trim().length >= 10;
        });
        if (!reasoned)
          context.report({ node, loc: { line: 1, column: 0 }, messageId: 'tooLong', data: { lines, max } });
      },
    };
  },
};

export default { rules: { 'file-size': rule } };
