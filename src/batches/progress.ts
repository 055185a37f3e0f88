/** Called after each batch with the number of sequences and tokens it held: progress that moves per batch. */
export type BatchListener = (done: { items: number; tokens: number }) => void;
