'use strict';
const { createHash } = require('node:crypto');
/*
 * A local Serverless Framework plugin (serverless.yml `plugins:`): what every function and table
 * gets for operations, written once here so that a function or table added later has it too.
 *
 * - OpsTopic: one subscription per entry of the stage's opsSubscriptions (its own resource, named
 *   by a digest of the endpoint, so that adding or removing one leaves the others subscribed);
 * - each function: one alarm on its errors and throttles (metric math over both) into OpsTopic;
 * - each table: one alarm on the read and write throttle events of the table and every GSI;
 * - each schedule rule: an alarm on the invocations EventBridge failed to deliver;
 * - each function invoked asynchronously (a schedule): an on-failure destination, OpsFailuresQueue,
 *   after two retries, and each stream's event source mapping the same queue for a batch given up
 *   (an SQS source's failures go to its queue's own dead letters instead);
 *   the function's own role (serverless-iam-roles-per-function) may send to that queue alone.
 *
 * OpsTopic, OpsFailuresQueue and the tables are declared in serverless.yml; tests/deploy asserts
 * the result on the packaged template. Nothing here looks anything up in AWS.
 */

const TOPIC = 'OpsTopic';
const FAILURES = 'OpsFailuresQueue';
const ASYNC_EVENTS = new Set(['schedule', 'sns', 's3', 'eventBridge', 'cloudwatchEvent', 'cloudwatchLog']);
const ASYNC_RETRIES = 2;
const PERIOD_SECONDS = 300;

function alarm(name, description, metrics, expression, label) {
  const queries = metrics.map((metric) => ({
    Id: metric.id,
    ReturnData: false,
    MetricStat: {
      Metric: { Namespace: metric.namespace, MetricName: metric.name, Dimensions: metric.dimensions },
      Period: PERIOD_SECONDS,
      Stat: 'Sum',
    },
  }));
  queries.push({ Id: 'total', Expression: expression, Label: label, ReturnData: true });
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: name,
      AlarmDescription: description,
      Metrics: queries,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: TOPIC }],
      OKActions: [{ Ref: TOPIC }],
    },
  };
}

function sumOf(ids) {
  return ids.map((id) => `FILL(${id}, 0)`).join(' + ');
}

class OpsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.addOperations() };
  }

  addOperations() {
    const service = this.serverless.service;
    const provider = this.serverless.getProvider('aws');
    const naming = provider.naming;
    const compiled = service.provider.compiledCloudFormationTemplate.Resources;
    const declared = (service.resources && service.resources.Resources) || {};
    for (const required of [TOPIC, FAILURES]) {
      if (!declared[required]) throw new Error(`infra/serverless/ops.js: serverless.yml declares no ${required}`);
    }
    const prefix = `${service.service}-${provider.getStage()}-`;
    const failuresArn = { 'Fn::GetAtt': [FAILURES, 'Arn'] };
    const added = {};

    for (const subscription of service.custom.stage.opsSubscriptions || []) {
      const digest = createHash('sha256').update(`${subscription.Protocol}:${subscription.Endpoint}`).digest('hex');
      added[`OpsSubscription${digest.slice(0, 12)}`] = {
        Type: 'AWS::SNS::Subscription',
        Properties: { TopicArn: { Ref: TOPIC }, Protocol: subscription.Protocol, Endpoint: subscription.Endpoint },
      };
    }

    for (const name of service.getAllFunctions()) {
      const functionId = naming.getLambdaLogicalId(name);
      const dimensions = [{ Name: 'FunctionName', Value: { Ref: functionId } }];
      added[`${functionId.replace(/LambdaFunction$/, '')}FailingAlarm`] = alarm(
        `${prefix}${name}-failing`,
        `${name}: errors or throttles in 5 minutes`,
        [
          { id: 'errors', namespace: 'AWS/Lambda', name: 'Errors', dimensions },
          { id: 'throttles', namespace: 'AWS/Lambda', name: 'Throttles', dimensions },
        ],
        sumOf(['errors', 'throttles']),
        'errors + throttles',
      );
      const events = service.getFunction(name).events || [];
      if (events.some((event) => Object.keys(event).some((kind) => ASYNC_EVENTS.has(kind)))) {
        added[`${functionId.replace(/LambdaFunction$/, '')}EventInvokeConfig`] = {
          Type: 'AWS::Lambda::EventInvokeConfig',
          Properties: {
            FunctionName: { Ref: functionId },
            Qualifier: '$LATEST',
            MaximumRetryAttempts: ASYNC_RETRIES,
            DestinationConfig: { OnFailure: { Destination: failuresArn } },
          },
        };
        this.allowSend(compiled, functionId, failuresArn);
      }
    }

    for (const mapping of Object.values(compiled)) {
      if (mapping.Type !== 'AWS::Lambda::EventSourceMapping') continue;
      // An SQS source takes no on-failure destination: its queue's redrive sends what failed to
      // its own dead letters, which serverless.yml alarms.
      const source = (mapping.Properties.EventSourceArn || {})['Fn::GetAtt'];
      if (source && (declared[source[0]] || {}).Type === 'AWS::SQS::Queue') continue;
      mapping.Properties.DestinationConfig = { OnFailure: { Destination: failuresArn } };
      const functionId = mapping.Properties.FunctionName['Fn::GetAtt'][0];
      this.allowSend(compiled, functionId, failuresArn);
    }

    for (const [ruleId, rule] of Object.entries(compiled)) {
      if (rule.Type !== 'AWS::Events::Rule') continue;
      const dimensions = [{ Name: 'RuleName', Value: { Ref: ruleId } }];
      added[`${ruleId}FailedAlarm`] = alarm(
        `${prefix}${ruleId}-failed-invocations`,
        `${ruleId}: EventBridge failed to invoke its target`,
        [{ id: 'failed', namespace: 'AWS/Events', name: 'FailedInvocations', dimensions }],
        sumOf(['failed']),
        'failed invocations',
      );
    }

    for (const [tableId, table] of Object.entries(declared)) {
      if (table.Type !== 'AWS::DynamoDB::Table') continue;
      const metrics = [];
      const scopes = [[{ Name: 'TableName', Value: { Ref: tableId } }]];
      for (const index of table.Properties.GlobalSecondaryIndexes || []) {
        scopes.push([
          { Name: 'TableName', Value: { Ref: tableId } },
          { Name: 'GlobalSecondaryIndexName', Value: index.IndexName },
        ]);
      }
      scopes.forEach((dimensions, n) => {
        metrics.push({ id: `read${n}`, namespace: 'AWS/DynamoDB', name: 'ReadThrottleEvents', dimensions });
        metrics.push({ id: `write${n}`, namespace: 'AWS/DynamoDB', name: 'WriteThrottleEvents', dimensions });
      });
      added[`${tableId}ThrottledAlarm`] = alarm(
        `${prefix}${tableId}-throttled`,
        `${tableId} (and its indexes): throttled reads or writes in 5 minutes`,
        metrics,
        sumOf(metrics.map((metric) => metric.id)),
        'throttle events',
      );
    }

    for (const [id, resource] of Object.entries(added)) {
      if (compiled[id] || declared[id]) throw new Error(`infra/serverless/ops.js: ${id} exists already`);
      compiled[id] = resource;
    }
  }

  allowSend(compiled, functionId, queueArn) {
    const roleId = compiled[functionId].Properties.Role['Fn::GetAtt'][0];
    const policies = compiled[roleId].Properties.Policies;
    policies[0].PolicyDocument.Statement.push({
      // the on-failure destination: what failed after its retries goes to the failures queue
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: queueArn,
    });
  }
}

module.exports = OpsPlugin;
