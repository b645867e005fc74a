/**
 * The archive: one S3 bucket for the recordings.
 *
 * - Private: all public access blocked, ACLs disabled (bucket owner owns every object),
 *   TLS 1.2+ required by the bucket policy.
 * - Encrypted with S3-managed keys (SSE-S3): the uploader also asks for AES256 on
 *   every put, and nothing else needs a KMS key policy to read the recordings.
 * - Versioned, with non-current versions expiring after 30 days. The uploader never
 *   replaces an object (conditional writes; a retry after a crash between "stored"
 *   and "recorded in the ledger" finds its own bytes and counts them as archived),
 *   but an operator may delete or overwrite by mistake: versioning keeps the previous
 *   bytes for a month, and such mistakes are rare, so the extra storage is small.
 * - Incomplete multipart uploads are aborted after 2 days: a Lambda that dies mid-file
 *   leaves parts that are billed but never visible as an object.
 * - Retained when the stack is deleted.
 *
 * The uploader may only put objects (and abort its own multipart uploads) under one
 * key prefix: the literal folder the key template starts with (`courses/` by default).
 * The clean-up run may only read objects (HeadObject) under the same prefix.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, Grant } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ArchiverFunction } from './archiver-function';

export const ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 2;
export const NONCURRENT_VERSIONS_EXPIRE_AFTER_DAYS = 30;

export class ArchiveBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      lifecycleRules: [
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS) },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSIONS_EXPIRE_AFTER_DAYS),
          expiredObjectDeleteMarker: true,
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'No server access logs: every write comes from the uploader and is recorded in the ledger and the audit trail ' +
        '(who, which file, when, checksum). Object-level read auditing, if a school needs it, is better done with ' +
        'CloudTrail S3 data events than with a second bucket of best-effort access logs.',
    });
  }

  /**
   * s3:PutObject (single puts and every multipart step) and s3:AbortMultipartUpload on
   * `prefix*` only. The uploader reads a key only to compare it with what it would write, lists only under
   * the prefix (so a missing key is a 404), and never deletes or replaces an object.
   */
  grantArchiveWrite(fn: ArchiverFunction, prefix: string): Grant {
    const grant = Grant.addToPrincipal({
      grantee: fn as IGrantable,
      // GetObject: a key already taken is compared with what is being written (same bytes = archived,
      // other bytes = key_conflict); the object is never replaced or deleted.
      // ListMultipartUploadParts: a resumed transfer checks its checkpoint's parts against S3's (ListParts).
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(`${prefix}*`)],
    });
    // ListBucket under the prefix only: without ListBucket a missing key answers 403 instead of
    // 404. Where S3 still answers 403, the store takes the key as unknown and the conditional
    // write (If-None-Match: *) decides alone, so a taken key is never replaced either way.
    Grant.addToPrincipal({
      grantee: fn as IGrantable,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    });
    const logicalId = Stack.of(this).resolve((this.bucket.node.defaultChild as CfnBucket).logicalId) as string;
    Validations.of(fn.serviceRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`,
      reason:
        `Object keys are made per file at run time, so the grant is on the key prefix "${prefix}" ` +
        '(the fixed folder every archive key starts with), with only PutObject, AbortMultipartUpload, ListMultipartUploadParts and GetObject ' +
        '(to compare an already-taken key; nothing is ever deleted or replaced).',
    });
    return grant;
  }

  /**
   * s3:GetObject (which HeadObject needs) on `prefix*` only: read-only, for a function
   * that checks what the archive holds (the clean-up run compares each archived file's
   * size with the ledger's before a recording leaves Zoom). No ListBucket: a missing key
   * answers 403, which the archive store reports as a read error (the recording stays
   * in Zoom), never as "absent". No put, no delete.
   */
  grantArchiveRead(fn: ArchiverFunction, prefix: string): Grant {
    const grant = Grant.addToPrincipal({
      grantee: fn as IGrantable,
      actions: ['s3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(`${prefix}*`)],
    });
    const logicalId = Stack.of(this).resolve((this.bucket.node.defaultChild as CfnBucket).logicalId) as string;
    Validations.of(fn.serviceRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`,
      reason:
        `Object keys are made per file at run time, so the grant is on the key prefix "${prefix}" ` +
        '(the fixed folder every archive key starts with), with s3:GetObject only: the function reads what an object ' +
        'holds (HeadObject) and can neither write, replace nor delete one.',
    });
    return grant;
  }
}
