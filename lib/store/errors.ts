import { TetherError } from "../domain/errors.js";

/**
 * An item in the table that the store cannot read back as a domain object (a field missing, malformed, or
 * refused by the domain's parser). A defect or a hand edit, never bad user input: it is not a
 * ValidationError, so the API answers 500, not 400. `cause` holds the parser's error.
 */
export class CorruptRecordError extends TetherError {
  readonly pk: string;
  readonly sk: string;

  constructor(item: { pk: string; sk: string }, detail: string, options?: ErrorOptions) {
    super(`Stored item ${item.pk} / ${item.sk} cannot be read: ${detail}.`, options);
    this.name = "CorruptRecordError";
    this.pk = item.pk;
    this.sk = item.sk;
  }
}
