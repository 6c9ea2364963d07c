import { Field, ID, Int, ObjectType } from 'type-graphql';
import { RegisteredDevice } from './api-key-types';

@ObjectType({ description: 'Why one device of a registerDevices call was refused.' })
export class DeviceRegistrationError {
  @Field(() => String, {
    description:
      'BAD_USER_INPUT, ALREADY_EXISTS, or UNAVAILABLE: the id was a device deleted without keeping its data, and that data is still being removed; register it again in a few seconds.',
  })
  code!: string;

  @Field(() => String)
  message!: string;
}

@ObjectType({ description: 'One input of registerDevices: the device and its key, or the error (exactly one of the two).' })
export class DeviceRegistrationResult {
  @Field(() => Int, { description: 'Position of the input in the list.' })
  index!: number;

  @Field(() => RegisteredDevice, { nullable: true })
  registered!: RegisteredDevice | null;

  @Field(() => DeviceRegistrationError, { nullable: true })
  error!: DeviceRegistrationError | null;
}

@ObjectType({ description: 'What deleteDevice did.' })
export class DeviceDeletionResult {
  @Field(() => ID)
  id!: string;

  @Field(() => Boolean, { description: 'True when the data was kept (registering the id again shows it).' })
  keptData!: boolean;

  @Field(() => Boolean, {
    description:
      'True when its readings, rollups and event ids are being removed in the background, in small steps that never stall ingest; ' +
      'until that is done, registering the id again is refused with UNAVAILABLE (reason DEVICE_DATA_REMOVAL, retryable). False when the data was kept.',
  })
  removingData!: boolean;
}
