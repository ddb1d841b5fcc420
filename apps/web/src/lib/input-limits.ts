// The longest text each AI feature takes, in characters: the server's input schemas refuse more
// and the page's text boxes stop there (shared so the two cannot disagree).

export const MAX_INPUT_CHARS = { 'fan-reply': 2000, caption: 2000, 'performance-analysis': 4000, 'sales-optimization': 4000 } as const;
