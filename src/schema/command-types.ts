import { Field, ID, ObjectType } from 'type-graphql';
import type { CommandStatus } from '../domain/command';
import { CommandStatusEnum } from './enums';
import { DateTimeScalar, JsonScalar } from './scalars';
import { PageInfo } from './types';

@ObjectType({
  description:
    'A command sent to a device over MQTT: it receives `{"commandId", "payload"}` on devices/{deviceId}/commands/{name} and answers on devices/{deviceId}/commands/{commandId}/response (docs/PROTOCOL.md).',
})
export class Command {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  deviceId!: string;

  @Field(() => String, { description: 'The last level of the topic the device receives it on.' })
  name!: string;

  @Field(() => JsonScalar, { nullable: true, description: 'What the device receives as `payload`.' })
  payload!: unknown;

  @Field(() => CommandStatusEnum)
  status!: CommandStatus;

  @Field(() => JsonScalar, { nullable: true, description: "The device's `result`, when it answered with one." })
  result!: unknown;

  @Field(() => DateTimeScalar)
  createdAt!: number;

  @Field(() => DateTimeScalar, { description: 'Not answered by then, it becomes EXPIRED.' })
  expiresAt!: number;

  @Field(() => DateTimeScalar, { description: 'When the status last changed.' })
  updatedAt!: number;
}

@ObjectType()
export class CommandEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => Command)
  node!: Command;
}

@ObjectType()
export class CommandConnection {
  @Field(() => [CommandEdge])
  edges!: CommandEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
